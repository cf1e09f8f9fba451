"""Shared pieces of the benchmarks: a fresh PostgreSQL database, gunicorn, a load generator.

Every request goes to 127.0.0.1 only; loops are bounded in count and time.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def database_url(name: str) -> str:
    return re.sub(r"/[^/]*$", f"/{name}", BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))


def fresh_database(name: str) -> str:
    admin = create_engine(BASE_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
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


@contextmanager
def gunicorn(database: str, workers: int = 4, threads: int = 4, extra_env: dict | None = None):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "LOG_LEVEL": "WARNING",
           "SECRET_KEY": "bench", "RATELIMIT_STORAGE_URI": "memory://",
           "LOGIN_RATE_LIMIT": "100000 per minute", **(extra_env or {})}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-k", "gthread",
         "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                status, _ = request(port, "GET", "/healthz")
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


def run_load(port: int, jobs: list, concurrency: int, time_limit: float = 120.0):
    """Run ``jobs`` (callables taking the port, returning a status) on ``concurrency`` threads.

    Returns (latencies in ms, statuses, wall seconds).
    """
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    queue = list(reversed(jobs))
    deadline = time.time() + time_limit

    def worker():
        _local.conn = None
        while time.time() < deadline:
            with lock:
                if not queue:
                    return
                job = queue.pop()
            started = time.perf_counter()
            try:
                status = job(port)
            except OSError:
                status = 599
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies: list[float], wall: float) -> dict:
    return {
        "n": len(latencies),
        "rps": len(latencies) / wall if wall else 0.0,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "mean": statistics.fmean(latencies) if latencies else float("nan"),
    }
