"""Structured logs: one JSON object a line, with the request id and the acting user's id only."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

from app.core.auth import loaded_user_id

# calendar feed URLs carry their secret in the path: it never reaches the logs
_SECRET_IN_PATH = re.compile(r"(/calendar/)[^/.]+")


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_JSON"]:
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=True)
        )
    root = logging.getLogger("venuebook")
    root.handlers[:] = [handler]
    root.setLevel(app.config["LOG_LEVEL"])
    root.propagate = False

    log = logging.getLogger("venuebook.request")

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        response.headers["X-Request-Id"] = g.get("request_id", "")
        log.info(
            "request",
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": _SECRET_IN_PATH.sub(r"\1***", request.path),
                "status": response.status_code,
                "ms": elapsed_ms,
                # the id only: emails and phones stay out of logs
                "user_id": loaded_user_id(),
            },
        )
        return response
