from flask import Blueprint, jsonify, redirect, request, session, url_for

from app.core.db import read_alone
from app.core.i18n import SUPPORTED
from app.extensions import db

core_bp = Blueprint("core", __name__)


@core_bp.get("/healthz")
def healthz():
    """Liveness with one database round trip (no transaction around it).
    ---
    get:
      tags: [core]
      responses:
        200:
          content:
            application/json:
              schema: Health
    """
    read_alone(db.engine, "SELECT 1")
    return jsonify({"status": "ok"})


@core_bp.get("/lang/<code>")
def switch_language(code: str):
    if code in SUPPORTED:
        session["lang"] = SUPPORTED[code]
    target = request.args.get("next") or ""
    # only local paths: never an open redirect
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("catalog_pages.index")
    return redirect(target)
