"""Command line: ``flask --app wsgi seed | users ...`` (see API.md)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import Blueprint, current_app
from flask.cli import ScriptInfo
from werkzeug.serving import run_simple

from app.accounts.seed import load_demo
from app.accounts.service import certify, create_user, issue_token, require_user
from app.catalog.seed import load_catalog
from app.checkin.keys import create_key, retire
from app.core.clock import now
from app.core.errors import AppError
from app.extensions import db
from app.finance.archive import audit_archive
from app.finance.reconcile import format_report, reconcile
from app.jobs import JOBS, run_job, run_scheduler

cli = Blueprint("cli", __name__, cli_group=None)
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _fail(err: AppError) -> None:
    db.session.rollback()
    detail = f" {err.details}" if err.details else ""
    raise click.ClickException(f"{err.code}: {err.message or err.code}{detail}")


@cli.cli.command("seed")
@click.option("--demo", is_flag=True, help="Also load the demo accounts, enterprise and vouchers.")
def seed_command(demo: bool) -> None:
    """Load the published resource list from seed/ (idempotent)."""

    counts = load_catalog(db.session)
    click.echo(
        f"catalog: {counts['created']} created, existing rows left as they are, "
        f"{'a new list version published' if counts['published'] else 'list unchanged'}"
    )
    if demo:
        demo_counts = load_demo(db.session)
        click.echo(f"demo: {demo_counts['users']} accounts, {demo_counts['enterprises']} enterprises, "
                   f"{demo_counts['vouchers']} vouchers")
    db.session.commit()


@cli.cli.group("users")
def users_group() -> None:
    """Accounts: create, certify, tokens."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["creator", "enterprise", "operator", "finance", "admin"]))
@click.option("--venue", "venues", multiple=True, type=int, help="Venue id (operators).")
@click.option("--name", default="", help="Display name.")
@click.password_option(prompt="Password")
def users_create(email: str, roles: tuple[str, ...], venues: tuple[int, ...], name: str,
                 password: str) -> None:
    """Create an account."""

    try:
        user = create_user(db.session, email, password, list(roles), display_name=name,
                           venue_ids=list(venues))
    except AppError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"created {user.email} (id {user.id}) with roles {', '.join(user.roles)}")


@users_group.command("certify")
@click.argument("email")
@click.option("--program", required=True, help="Program code, e.g. huangpu-shared-service.")
@click.option("--tier", required=True, help="Tier code, e.g. A.")
def users_certify(email: str, program: str, tier: str) -> None:
    """Certify a creator for a program tier from today."""

    try:
        cert = certify(db.session, None, require_user(db.session, email), program, tier)
    except AppError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"{email} certified for {program} tier {tier} (cap {cert.tier.cap_fen} fen) "
               f"from {cert.valid_from.isoformat()}")


@users_group.command("token")
@click.argument("email")
@click.option("--label", default="cli")
def users_token(email: str, label: str) -> None:
    """Print a new API token for the account (on the last line)."""

    try:
        token = issue_token(db.session, require_user(db.session, email), label=label)
    except AppError as err:
        _fail(err)
    db.session.commit()
    click.echo(f"new API token for {email}; it is shown only once:")
    click.echo(token)


@cli.cli.group("finance")
def finance_group() -> None:
    """Finance: reconciliation."""


@finance_group.command("reconcile")
@click.option("--month", required=True, help="YYYY-MM (Asia/Shanghai).")
def finance_reconcile(month: str) -> None:
    """Check every invariant for the month; exit 1 with a list when any is violated."""

    if not MONTH.fullmatch(month):
        raise click.BadParameter("use YYYY-MM", param_hint="--month")
    report = reconcile(db.session, month)
    db.session.rollback()
    click.echo(format_report(report))
    if not report.ok:
        raise SystemExit(1)


@finance_group.command("audit-export")
@click.option("--from", "first", required=True, help="First month, YYYY-MM.")
@click.option("--to", "last", required=True, help="Last month, YYYY-MM.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def finance_audit_export(first: str, last: str, out: Path) -> None:
    """Journal, audit log and statements of the period as one ZIP with a SHA-256 manifest."""

    for value, hint in ((first, "--from"), (last, "--to")):
        if not MONTH.fullmatch(value):
            raise click.BadParameter("use YYYY-MM", param_hint=hint)
    out.write_bytes(audit_archive(db.session, first, last, now()))
    db.session.rollback()
    click.echo(str(out))


@cli.cli.group("keys")
def keys_group() -> None:
    """Check-in code signing keys."""


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new key; codes signed with older keys keep verifying."""

    key = create_key(db.session, current_app.config["SECRET_KEY"])
    db.session.commit()
    click.echo(f"now signing with {key.key_id}")


@keys_group.command("retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Stop accepting codes signed with KEY_ID."""

    if retire(db.session, key_id) is None:
        raise click.ClickException(f"no key {key_id}")
    db.session.commit()
    click.echo(f"{key_id} retired: its codes are now invalid")


@cli.cli.group("scheduler")
def scheduler_group() -> None:
    """The time-driven jobs."""


@scheduler_group.command("run")
@click.option("--standby-seconds", type=float, default=None,
              help="How often a standby checks whether it can lead (default 5).")
def scheduler_run(standby_seconds: float | None) -> None:
    """Run the scheduler (one leader per site; others wait as standby)."""

    run_scheduler(current_app._get_current_object(), standby_seconds)


@scheduler_group.command("once")
@click.argument("job", required=False)
def scheduler_once(job: str | None) -> None:
    """Run every job (or JOB) once now, e.g. from cron or by hand."""

    names = [job] if job else list(JOBS)
    for name in names:
        if name not in JOBS:
            raise click.BadParameter(f"one of {', '.join(JOBS)}", param_hint="JOB")
        click.echo(f"{name}: {run_job(current_app._get_current_object(), name)}")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@cli.cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
def serve(host: str, port: int) -> None:
    """The web server with one scheduler process beside it (``make run``); Ctrl-C stops both.

    For one machine (SQLite, one scheduler). Production runs gunicorn and ``scheduler run`` as
    two services instead (README, Production)."""
    app_path = click.get_current_context().find_object(ScriptInfo).app_import_path
    command = [sys.executable, "-m", "flask", *(["--app", app_path] if app_path else []),
               "scheduler", "run"]
    scheduler = subprocess.Popen(command)
    click.echo(f"serve: scheduler started beside the web server (pid {scheduler.pid})")
    # A service manager stops us with SIGTERM: leave through the same path as Ctrl-C, so the
    # scheduler is never left running without its web server.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_simple(host, port, current_app._get_current_object(), threaded=True)
    finally:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait()
        click.echo("serve: web server and scheduler stopped")
