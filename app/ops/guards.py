"""The database's own guards (triggers, the exclusion constraint), listed from the DDL that
creates them, so `flask doctor` checks exactly what the migrations install and `flask db
upgrade` can put back one that was dropped by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from app.booking.models import Booking
from app.core.db import APPEND_ONLY_TABLES, append_only_ddl
from app.finance.models import frozen_statement_ddl
from app.ledger.models import balance_trigger_ddl

TRIGGER_NAME = re.compile(r"CREATE\s+(?:CONSTRAINT\s+)?TRIGGER\s+(\w+)", re.IGNORECASE)


@dataclass
class Guard:
    name: str  # the trigger or constraint name
    kind: str  # "trigger" | "constraint"
    table: str
    ddl: list[str]  # statements that (re)create it, helper functions first


def _trigger_guards(table: str, statements: list[str]) -> list[Guard]:
    """One guard per CREATE TRIGGER, each carrying the helper functions before it."""
    guards, helpers = [], []
    for statement in statements:
        found = TRIGGER_NAME.search(statement)
        if found is None:
            helpers.append(statement)
            continue
        guards.append(Guard(found.group(1), "trigger", table, [*helpers, statement]))
        helpers = []
    return guards


def expected_guards(dialect: str) -> list[Guard]:
    guards: list[Guard] = []
    for table in APPEND_ONLY_TABLES:
        guards += _trigger_guards(table, append_only_ddl(table, dialect))
    guards += _trigger_guards("statements", frozen_statement_ddl(dialect))
    guards += _trigger_guards("journal_lines", balance_trigger_ddl(dialect))
    if dialect == "postgresql":
        pg = postgresql.dialect()
        for constraint in Booking.__table__.constraints:
            if constraint.name == "bookings_no_overlap":
                # compiled by hand: building an AddConstraint would mark the model's constraint
                # as "added separately" and later create_all calls would leave it out
                body = pg.ddl_compiler(pg, None).process(constraint)
                guards.append(Guard(constraint.name, "constraint", "bookings",
                                    [f"ALTER TABLE bookings ADD {body}"]))
    return guards


def present_guards(connection: Connection) -> set[str]:
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
            "UNION SELECT conname FROM pg_constraint WHERE contype = 'x'").all()
    else:
        rows = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").all()
    return {row[0] for row in rows}


def missing_guards(connection: Connection) -> list[Guard]:
    present = present_guards(connection)
    return [g for g in expected_guards(connection.dialect.name) if g.name not in present]


def install_missing(connection: Connection) -> list[str]:
    """Recreate every guard that is missing on a table that exists; returns their names."""
    tables = set(inspect(connection).get_table_names())
    installed = []
    for guard in missing_guards(connection):
        if guard.table not in tables:
            continue
        for statement in guard.ddl:
            connection.exec_driver_sql(statement)
        installed.append(guard.name)
    return installed
