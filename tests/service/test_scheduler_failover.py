"""One scheduler leads, another waits; killing the leader hands over within seconds.

Two real ``flask scheduler run`` processes against PostgreSQL (advisory lock leadership).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import drop_pg_database, fresh_pg_database, require_pg

ROOT = Path(__file__).resolve().parents[2]


def _start(url: str) -> tuple[subprocess.Popen, queue.Queue]:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "failover-test", "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "scheduler", "run",
         "--standby-seconds", "0.5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return process, lines


def _wait_for(lines: queue.Queue, text: str, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if text in line:
            return time.monotonic() - started
    raise AssertionError(f"no '{text}' within {seconds} s")


@pytest.mark.postgres
def test_standby_takes_over_when_the_leader_dies():
    require_pg()
    url = fresh_pg_database(f"venuebook_failover_{os.getpid()}")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "failover-test"}
    subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    first, first_lines = _start(url)
    second = None
    try:
        _wait_for(first_lines, "scheduler: leader", 30)
        second, second_lines = _start(url)
        _wait_for(second_lines, "scheduler: standby", 30)
        first.send_signal(signal.SIGKILL)  # the leader dies without cleaning up
        first.wait(timeout=10)
        took = _wait_for(second_lines, "scheduler: leader", 60)
        assert took < 60  # "within a minute"; with 0.5 s checks it is a second or two
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=20)
        drop_pg_database(url.rsplit("/", 1)[1])
