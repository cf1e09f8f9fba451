"""Shared pieces of the benchmarks: a fresh PostgreSQL database, gunicorn, load generators, CPU.

Every request goes to 127.0.0.1 only; loops are bounded in count and time. Throughput is
measured with wrk (Debian's ``wrk`` package): a Python client tops out near 1,000 requests a
second on this machine and would hide the server's ceiling. The Python client below serves the
mixed load test and the fault tests, which need per-request logic rather than rate.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
WRK_SCRIPTS = Path(__file__).resolve().parent / "wrk"
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def database_url(name: str) -> str:
    return re.sub(r"/[^/]*$", f"/{name}", BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))


def _admin():
    return create_engine(BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                         isolation_level="AUTOCOMMIT")


def drop_database(name: str) -> None:
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def fresh_database(name: str) -> str:
    drop_database(name)
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return database_url(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True).stdout.split()
        return [int(pid) for pid in out]


@contextmanager
def gunicorn(database: str, workers: int = 4, threads: int = 4, extra_env: dict | None = None,
             app_dir: Path = ROOT, module: str = "wsgi:app", pythonpath: Path | None = None,
             probe: str = "/healthz"):
    """Serve ``module`` from ``app_dir`` (another checkout of the app, for a before/after run)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "LOG_LEVEL": "WARNING",
           "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://",
           "LOGIN_RATE_LIMIT": "100000 per minute", **(extra_env or {})}
    command = [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-k", "gthread",
               "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               "--chdir", str(app_dir)]
    if pythonpath is not None:
        command += ["--pythonpath", str(pythonpath)]
    process = subprocess.Popen(command + [module], cwd=app_dir, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                status, _ = request(port, "GET", probe)
                if status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield Server(port, process)
    finally:
        process.terminate()
        process.wait(timeout=20)


_local = threading.local()


def request(port: int, method: str, path: str, body=None, token: str | None = None):
    conn = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "port", None) != port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        _local.conn, _local.port = conn, port
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = json.dumps(body) if body is not None else None
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (http.client.HTTPException, OSError):
        _local.conn = None
        raise
    return response.status, data


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


# ---- wrk -------------------------------------------------------------------------------------


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk(port: int, path: str, seconds: float, connections: int, threads: int = 2,
        script: str = "report.lua", args: list[str] | None = None,
        headers: dict | None = None) -> dict:
    """Run wrk against 127.0.0.1:``port`` and return the figures its script printed.

    ``rps`` counts every answer; the scripts also count answers by status.
    """
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", script]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    if args:
        command += ["--", *args]
    out = subprocess.run(command, cwd=WRK_SCRIPTS, capture_output=True, text=True, timeout=seconds + 60)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures: {out.stdout}\n{out.stderr}")
    figures = json.loads(line[len("BENCH "):])
    figures["rps"] = figures["requests"] / figures["seconds"] if figures["seconds"] else 0.0
    return figures


# ---- CPU time from /proc ---------------------------------------------------------------------


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds of each process still alive (10 ms ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` now (same host: /proc can read them)."""
    admin = _admin()
    with admin.connect() as conn:
        pids = list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n "
                                      "AND pid <> pg_backend_pid()"), {"n": database}).scalars())
    admin.dispose()
    return pids


class CpuMeter:
    """CPU seconds spent by gunicorn's workers and the database's backends between start and stop.

    Backends that appear meanwhile count from zero; the load generator and the rest of the
    machine are not counted.
    """

    def __init__(self, server: Server, database: str):
        self.server, self.database = server, database

    def __enter__(self):
        self.web = cpu_seconds(self.server.worker_pids())
        self.pg = cpu_seconds(backend_pids(self.database))
        return self

    def __exit__(self, *exc) -> None:
        web = cpu_seconds(self.server.worker_pids())
        pg = cpu_seconds(set(backend_pids(self.database)) | set(self.pg))
        self.web_seconds = sum(web[pid] - self.web.get(pid, 0.0) for pid in web)
        self.pg_seconds = sum(pg[pid] - self.pg.get(pid, 0.0) for pid in pg)
