"""What every request pays before any work: CPU per request of a bare route, hook by hook.

    .venv/bin/python bench/request_overhead.py [--record] [--app-dir DIR --section overhead-before]

The app's WSGI callable is called directly (no server, no test client, no database) for a route
that only returns {"status": "ok"}, with production settings (JSON request log at INFO, written
to /dev/null; rate limiter on). Then again with one group of request hooks taken out at a time,
and a one-line Flask app for reference. Rounds alternate between the variants and the minimum
of each is kept, which is what survives the noise of a shared machine best.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask, jsonify  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

# hook groups, by the names of the functions the app and its extensions register
GROUPS = {
    "request log (JSON line at INFO)": ("_log_request", "_start_timer"),
    "rate limiter's middleware": ("Limiter", "inject_headers", "release_context"),
    "security headers": ("_security_headers",),
    "CSRF checks (Flask-WTF, ours)": ("csrf",),
    "login's remember-cookie hook": ("_update_remember_cookie",),
}


def _bare() -> object:
    return jsonify({"status": "ok"})


def make_app(without: tuple[str, ...] = ()):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "overhead",
                      "LOG_JSON": True, "LOG_LEVEL": "INFO"})
    for handler in logging.getLogger("venuebook").handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    app.add_url_rule("/bench/bare", "bench_bare", _bare)
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [f for f in hooks.get(None, []) if not any(
            name in repr(f) or name in getattr(f, "__qualname__", "") for name in without)]
    return app


def cpu_per_request(app, requests: int) -> float:
    environ = EnvironBuilder(path="/bench/bare").get_environ()

    def call() -> None:
        body = app.wsgi_app(dict(environ), lambda status, headers: None)
        for _ in body:
            pass
        getattr(body, "close", lambda: None)()

    for _ in range(50):
        call()
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) * 1e6 / requests


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--app-dir", help="measure the app in this directory instead")
    parser.add_argument("--section", default="overhead")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    if args.app_dir:
        sys.path.insert(0, str(Path(args.app_dir).resolve()))
    one_line = Flask("one_line")
    one_line.add_url_rule("/bench/bare", "bare", _bare)
    variants = {"the app, every hook": make_app()}
    variants.update({f"without the {name}": make_app(hooks) for name, hooks in GROUPS.items()})
    variants["one-line Flask app (reference)"] = one_line
    best = {name: float("inf") for name in variants}
    for _ in range(args.rounds):
        for name, app in variants.items():
            best[name] = min(best[name], cpu_per_request(app, args.requests))
    full = best["the app, every hook"]
    lines = ["| variant | CPU µs per request (best round) | the hooks left out cost |",
             "|---|---:|---:|"]
    for name, micros in best.items():
        saved = "" if name == "the app, every hook" else f"{full - micros:,.0f} µs"
        lines.append(f"| {name} | {micros:,.0f} | {saved} |")
    table = "\n".join(lines)
    print(table)
    if args.record:
        from bench.record import record_section

        record_section(args.section, "What every request pays (bare route, in process)", table,
                       [f"- {args.rounds} rounds of {args.requests} requests per variant, "
                        "alternating; the best round of each. No server, no database: the "
                        "difference to the one-line app is the app's own request hooks and "
                        "extensions."], "bench/request_overhead.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
