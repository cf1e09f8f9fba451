from flask import Blueprint, jsonify, session
from sqlalchemy import text

from app.core.http import redirect_to_next
from app.core.i18n import SUPPORTED
from app.extensions import db

core_bp = Blueprint("core", __name__)


@core_bp.get("/healthz")
def healthz():
    """Liveness with a database round trip.
    ---
    get:
      tags: [core]
      responses:
        200:
          content:
            application/json:
              schema: Health
    """
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@core_bp.get("/lang/<code>")
def switch_language(code: str):
    if code in SUPPORTED:
        session["lang"] = SUPPORTED[code]
    return redirect_to_next()
