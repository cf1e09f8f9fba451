"""A creator's notifications in the app (the outbox is also what email and logs send)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user

from app.core.auth import require_roles
from app.core.clock import to_local
from app.core.i18n import is_english
from app.extensions import db
from app.notify.service import for_user, texts_in

notify_bp = Blueprint("notify", __name__, template_folder="templates")


def _describe(note) -> dict:
    return {"id": note.id, "kind": note.kind, "subject": note.subject, "body": note.body,
            "created_at": to_local(note.created_at).isoformat(), "status": note.status}


@notify_bp.get("/api/v1/me/notifications")
@require_roles()
def my_notifications():
    """The signed-in account's notifications, newest first.
    ---
    get:
      tags: [accounts]
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {type: object}}
    """
    return jsonify({"items": [_describe(n) for n in for_user(db.session, current_user.id)]})


@notify_bp.get("/notifications")
@require_roles()
def notifications_page():
    language = "en" if is_english() else "zh"
    notes = []
    for note in for_user(db.session, current_user.id):
        subject, body = texts_in(note, language)
        notes.append({"created_at": note.created_at, "subject": subject, "body": body})
    return render_template("notify/list.html", notes=notes)
