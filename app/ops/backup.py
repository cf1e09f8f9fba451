"""Online backups and restores: one file plus its SHA-256, on SQLite and PostgreSQL.

SQLite copies pages with the sqlite3 backup API, which gives a consistent snapshot while the
app keeps writing. PostgreSQL uses pg_dump's custom format (one snapshot transaction) and
pg_restore, from the client tools matching the server's major version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from app.ops.rules import backup_name, backups_to_prune

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """Something an operator must fix; the message says what."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def verify(path: Path) -> str:
    """The file's SHA-256 when it matches the one written beside it; BackupError otherwise."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    sums = checksum_path(path)
    if not sums.is_file():
        raise BackupError(f"{sums}: checksum file missing; refusing to restore an unverified file")
    expected = sums.read_text().split()[0].strip().lower()
    actual = sha256_of(path)
    if actual != expected:
        raise BackupError(f"{path}: SHA-256 is {actual}, {sums.name} says {expected}; "
                          "the file is damaged or not the one backed up")
    return actual


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (which goes in the environment, not the process list)."""
    url = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _server_major(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000


def _tool_major(path: str) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1].split(".")[0].split("devel")[0])


def pg_tool(name: str, engine: Engine) -> str:
    """pg_dump / pg_restore no older than the server (an older one refuses to dump it)."""
    major = _server_major(engine)
    candidates = [f"/usr/lib/postgresql/{major}/bin/{name}", shutil.which(name)]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and _tool_major(candidate) >= major:
            return candidate
    raise BackupError(f"{name} for PostgreSQL {major} not found (looked in "
                      f"/usr/lib/postgresql/{major}/bin and PATH): install the client tools, "
                      f"e.g. apt-get install postgresql-client-{major}")


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[:2000]}")


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    """Page by page with SQLite's backup API: a consistent snapshot even while others write."""
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def create_backup(engine: Engine, directory: Path, moment: datetime) -> Path:
    """Write a backup file and its .sha256 into ``directory``; return the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / backup_name(moment, engine.dialect.name)
    partial = target.with_name(target.name + ".partial")
    if engine.dialect.name == "sqlite":
        _sqlite_copy(Path(engine.url.database), partial)
    else:
        url, env = _libpq(engine)
        _run([pg_tool("pg_dump", engine), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={partial}", url], env)
    partial.replace(target)  # a crash mid-way never leaves a file that looks complete
    checksum_path(target).write_text(f"{sha256_of(target)}  {target.name}\n")
    return target


def _kind(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise BackupError(f"{path}: neither a SQLite backup nor a pg_dump custom-format file")


def restore_backup(engine: Engine, path: Path) -> None:
    """Restore ``path`` into the (empty) database of ``engine``."""
    verify(path)
    kind = _kind(path)
    if kind != engine.dialect.name:
        raise BackupError(f"{path.name} is a {kind} backup; the database is {engine.dialect.name}")
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables, e.g. "
                          f"{', '.join(sorted(tables)[:3])}); restore only into an empty one")
    engine.dispose()  # no pooled connection may hold the file or the database meanwhile
    if kind == "sqlite":
        _sqlite_copy(path, Path(engine.url.database))
    else:
        url, env = _libpq(engine)
        _run([pg_tool("pg_restore", engine), "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", f"--dbname={url}", str(path)], env)


def prune(directory: Path, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` backups (and their checksums)."""
    removed = backups_to_prune([p.name for p in directory.iterdir()], keep)
    for name in removed:
        (directory / name).unlink(missing_ok=True)
        checksum_path(directory / name).unlink(missing_ok=True)
    return removed
