"""Declarative base with a naming convention so migrations name constraints predictably."""

from __future__ import annotations

import select
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import CursorResult, Engine, Row
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp stored in UTC.

    SQLite has no time zones: values come back naive and are re-labelled UTC here, so every
    datetime the application sees is aware. Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def append_only_ddl(table: str, dialect: str) -> list[str]:
    """SQL that makes the database itself refuse UPDATE and DELETE on ``table``.

    Used for records that must never change once written (published list versions, the audit
    log, journal entries). Both dialects get a real trigger so the guard holds for any client,
    not only for this application.
    """
    if dialect == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION refuse_change_{table}() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql
            """,
            f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION refuse_change_{table}()
            """,
        ]
    return [
        f"""
        CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
        """,
        f"""
        CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END
        """,
    ]


def drop_append_only_ddl(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP FUNCTION IF EXISTS refuse_change_{table}()",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]


# Every table made append-only, so `flask doctor` can check (and `db upgrade` restore) its guard.
APPEND_ONLY_TABLES: list[str] = []


def make_append_only(table) -> None:
    """Attach the append-only triggers to a Table so ``create_all`` installs them too."""

    APPEND_ONLY_TABLES.append(table.name)

    def _install(target, connection, **kw):
        for statement in append_only_ddl(target.name, connection.dialect.name):
            connection.exec_driver_sql(statement)

    event.listen(table, "after_create", _install)


def install_extensions(metadata) -> None:
    """btree_gist lets PostgreSQL's exclusion constraints mix ``=`` on ids with range overlap."""

    def _create(target, connection, **kw):
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")

    event.listen(metadata, "before_create", _create)


install_extensions(Base.metadata)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # writers queue for the lock instead of failing at once; readers never block writers
        cursor.execute("PRAGMA busy_timeout = 15000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


def _listen_for_sqlite() -> None:
    event.listen(Engine, "connect", _sqlite_pragmas)


_listen_for_sqlite()


# ---- pooled connections without a ping per request -------------------------------------------


def connection_lost(dbapi_connection) -> bool:
    """Whether the server has already closed this idle pooled connection, known without a round trip.

    An idle connection has nothing to say. A server ending a session (restart,
    pg_terminate_backend, idle timeout, a crashed backend) sends an error and closes the socket,
    and both wait unread in it: a socket with something to read before any query means the
    connection is gone. Costs one poll() instead of the ping's round trip.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return False  # SQLite: a file, nothing to lose
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - a socket that cannot even be polled is no connection
        return True


def _replace_lost_connection(dbapi_connection, connection_record, connection_proxy) -> None:
    if connection_lost(dbapi_connection):
        # the pool discards this connection and hands out another (or connects anew)
        raise DisconnectionError("the server closed this pooled connection")


def install_connection_recovery(engine: Engine) -> None:
    """Replace connections the server closed at checkout, instead of pinging every checkout.

    A connection that dies silently after checkout fails its statement; SQLAlchemy then
    invalidates it and every older pooled connection, and reads are retried once (see
    ``app.core.http.VenueBook``); writes answer 500 and the client retries with its
    Idempotency-Key.
    """
    if not event.contains(engine, "checkout", _replace_lost_connection):
        event.listen(engine, "checkout", _replace_lost_connection)


def read_alone(engine: Engine, statement, params: dict | None = None) -> list[Row]:
    """Run one read statement outside any transaction: one round trip, no BEGIN and no ROLLBACK.

    A single statement reads one consistent snapshot by itself; a transaction around it only
    adds two round trips. A plain SQL string goes to the driver as it is, skipping SQLAlchemy's
    statement cache lookup, for the cheapest checks on the hottest paths.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if isinstance(statement, str):
            return list(conn.exec_driver_sql(statement, params or {}))
        return list(conn.execute(statement, params or {}))


def write_core(session: Session, statement, params: dict | list[dict]) -> CursorResult:
    """Run a write statement built once (a Core INSERT or UPDATE) on the session's connection,
    in its transaction, after the session's pending rows are flushed as any ORM statement would.

    For rows written once and never changed (events, scans, check-ins, journal lines, an outbox
    note, a new booking) the unit of work has nothing to decide; going round it saves about a
    millisecond per row on the hot paths.
    """
    session.flush()
    return session.connection().execute(statement, params)
