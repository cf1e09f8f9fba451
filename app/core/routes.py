from flask import Blueprint, jsonify, redirect, session, url_for

from app.core.db import read_alone
from app.core.http import redirect_to_next
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
          description: the app and its database answer
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
    return redirect_to_next()


@core_bp.get("/favicon.ico")
def favicon():
    """Browsers and feed readers ask here whatever the page links; send them to the icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
