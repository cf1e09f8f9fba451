"""Readiness for load balancers: 200 when every doctor check passes, 503 naming the failures."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.extensions import db
from app.ops.doctor import run_checks

ops_bp = Blueprint("ops", __name__)


@ops_bp.get("/healthz/ready")
def ready():
    results = run_checks(db.session)
    db.session.rollback()
    failing = [{"name": c.name, "detail": c.detail} for c in results if not c.ok]
    body = {"status": "fail" if failing else "ok", "failing": failing,
            "checks": [c.name for c in results]}
    return jsonify(body), 503 if failing else 200
