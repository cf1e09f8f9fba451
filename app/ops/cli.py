"""Command line: ``flask backup create|restore`` and ``flask doctor``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, current_app

from app.core.clock import now
from app.extensions import db
from app.ops.backup import BackupError, create_backup, restore_backup, sha256_of
from app.ops.doctor import run_checks

ops_cli = Blueprint("ops_cli", __name__, cli_group=None)


@ops_cli.cli.group("backup")
def backup_group() -> None:
    """Backups that restore."""


@backup_group.command("create")
@click.option("--to", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Directory (default BACKUP_DIR, instance/backups).")
def backup_create(directory: Path | None) -> None:
    """Make a consistent online backup and its SHA-256; print the file's path last."""
    target_dir = directory or Path(current_app.config["BACKUP_DIR"])
    try:
        path = create_backup(db.engine, target_dir, now())
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"sha256 {sha256_of(path)}")
    click.echo(str(path))


@backup_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_restore(file: Path) -> None:
    """Restore FILE into this (empty) database after checking its SHA-256."""
    try:
        restore_backup(db.engine, file)
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"restored {file.name}; run flask doctor, then flask db upgrade if it asks")


@ops_cli.cli.command("doctor")
def doctor() -> None:
    """Check migrations, guards, signing key, scheduler, outbox, reconciliation; exit 1 on failure."""
    results = run_checks(db.session)
    db.session.rollback()
    for check in results:
        click.echo(f"[{' ok ' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    if not all(check.ok for check in results):
        raise SystemExit(1)
