"""Who is asking: session cookie for pages, bearer token for scripts and scanners."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.accounts.models import OperatorVenue
from app.core.errors import Forbidden, Unauthorized
from app.extensions import db, login_manager


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _not_signed_in() -> Unauthorized:
    # A wrong token is an error of its own, not an anonymous request.
    return Unauthorized("invalid_token") if g.get("invalid_token") else Unauthorized()


def loaded_user_id() -> int | None:
    """The id of the user this request has already loaded, or None; never loads one itself.

    Flask-Login keeps the user it loaded (from the session, a token or login_user) in
    ``g._login_user``. Reading ``current_user`` instead would look a token up in the database
    just to name the user in a log line, on requests that never needed a user.
    """
    user = g.get("_login_user")
    return user.id if user is not None and user.is_authenticated else None


def init_auth(app) -> None:
    from app.accounts.models import User
    from app.accounts.service import user_for_token

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    # "basic", not "strong": phones hop between Wi-Fi and mobile networks mid-session.
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str):
        if bearer_token() is not None:
            # A request that names its credentials is judged by them alone. It also skipped the
            # CSRF check (see register_security), so the cookie must not sign it in instead.
            return None
        user_id, _, nonce = session_id.partition(":")
        if not user_id.isdigit():
            return None
        # roles in the same round trip: every page's header asks for them
        user = db.session.get(User, int(user_id), options=[joinedload(User.role_rows)])
        if user is None or user.session_nonce != nonce:
            return None
        return user

    @login_manager.request_loader
    def load_user_from_token(req):
        token = bearer_token()
        if token is None:
            return None
        user = user_for_token(db.session, token)
        if user is None:
            g.invalid_token = True
        else:
            g.token_auth = True
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            raise _not_signed_in()
        from flask import redirect, url_for

        return redirect(url_for("accounts.login", next=request.full_path))


def require_roles(*roles: str):
    """Signed in, and holding one of ``roles`` (any role when none are given)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    raise _not_signed_in()
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                raise Forbidden()
            return view(*args, **kwargs)

        # read by the OpenAPI document: such an operation can answer 403
        wrapped.required_roles = roles
        return wrapped

    return decorator


_VENUE_IDS = select(OperatorVenue.venue_id).where(OperatorVenue.user_id == bindparam("user_id"))


def operator_venue_ids(user) -> set[int]:
    """The venues an operator works at: the ids alone, one small query (the venues themselves
    are not loaded unless already there)."""
    if "operated_venues" in user.__dict__:
        return {v.id for v in user.operated_venues}
    return set(db.session.execute(_VENUE_IDS, {"user_id": user.id}).scalars())


def require_venue_access(user, venue_id: int) -> None:
    """Operators see only their venues; administrators and finance see all."""
    if user.has_role("admin", "finance"):
        return
    if user.has_role("operator") and venue_id in operator_venue_ids(user):
        return
    raise Forbidden()
