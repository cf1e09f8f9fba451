"""``make run`` serves the web app with the scheduler beside it, and Ctrl-C stops both."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATIENCE = 120  # seconds; only a bound for a hung process, never a measurement


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lines(stream, sink: queue.Queue) -> None:
    for line in stream:
        sink.put(line)


def _wait_for(lines: queue.Queue, text: str, seen: list[str]) -> str:
    while True:
        line = lines.get(timeout=PATIENCE)
        seen.append(line)
        if text in line:
            return line


def _status_when_up(url: str) -> int:
    """The answer's status once the server listens (it may start after the scheduler)."""
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            with urllib.request.urlopen(url, timeout=PATIENCE) as answer:
                return answer.status
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_serves_with_the_scheduler_and_ctrl_c_stops_both(tmp_path):
    assert "$(FLASK) serve" in (ROOT / "Makefile").read_text()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "SECRET_KEY": "test", "LOG_JSON": "0", "PYTHONUNBUFFERED": "1"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    # Its own process group, like a terminal's foreground job: Ctrl-C signals the whole group.
    server = subprocess.Popen([*flask, "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(server.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        started = _wait_for(lines, "scheduler started", seen)
        scheduler_pid = int(started.rsplit("pid ", 1)[1].rstrip(")\n"))
        _wait_for(lines, "scheduler: leader", seen)  # it runs the jobs, not just exists
        assert _status_when_up(f"http://127.0.0.1:{port}/healthz") == 200
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=PATIENCE)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert server.returncode == 0, "".join(seen)
    assert not _alive(scheduler_pid), "the scheduler outlived Ctrl-C"
    _wait_for(lines, "web server and scheduler stopped", seen)


README_REFERENCE = re.compile(
    r"\]\(([^)#\s]+)[^)]*\)"  # [text](target)
    r"|`((?:\.\.?/)?[\w.-]+(?:/[\w.-]+)+\.(?:md|toml|py|json|cfg|txt|html|sh))`")  # a `dir/file`


def test_the_readme_refers_only_to_files_in_the_repository():
    readme = (ROOT / "README.md").read_text()
    targets = [a or b for a, b in README_REFERENCE.findall(readme)]
    assert targets, "the pattern finds the README's file references"
    outside = []
    for target in targets:
        if re.match(r"[a-z]+:|/", target):  # a web address or a path on the running site
            continue
        path = (ROOT / target).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            outside.append(target)
    assert not outside, f"README refers to files that are not in the repository: {outside}"
