"""Sign-in pages, API tokens and the account's own view (``/me``)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.accounts import service
from app.accounts.forms import LoginForm
from app.accounts.schemas import MeSchema, TokenRequestSchema, TokenSchema
from app.core.api import load
from app.core.auth import require_roles
from app.core.clock import local_today
from app.core.errors import Unauthorized
from app.core.http import local_path
from app.core.request_input import FORM_TYPES
from app.extensions import db, limiter
from app.wallet.service import calendar_url_of, quota_summary, strikes_of, vouchers_usable_by

accounts_pages = Blueprint("accounts", __name__, template_folder="templates")
accounts_api = Blueprint("accounts_api", __name__, url_prefix="/api/v1")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_of_attempt() -> str:
    """The account a sign-in attempt names, from the page's form or the API's JSON body."""
    body = request.form if request.mimetype in FORM_TYPES else request.get_json(silent=True)
    email = body.get("email") if isinstance(body, Mapping) else None
    return "account:" + (service.normalise_email(email) if isinstance(email, str) else "")


def _failed(response: Response) -> bool:
    return response.status_code == 401


# Both sign-in doors share their counts, so guesses cannot be split between them. Per address,
# every attempt counts; per account, only failures, so that someone who signs in often (or a
# whole venue behind one address) is not held up by their own successes.
throttle_by_address = limiter.shared_limit(_login_limit, scope="sign-in-address",
                                           methods=["POST"])
throttle_by_account = limiter.shared_limit(_account_limit, scope="sign-in-account",
                                           key_func=_account_of_attempt, methods=["POST"],
                                           deduct_when=_failed)


def account_summary(user) -> dict:
    """What a signed-in person sees about themselves (pages and ``GET /me``)."""

    today = local_today()
    return {
        "user": service.describe_user(user, reveal=True),
        "roles": user.roles,
        "vouchers": vouchers_usable_by(db.session, user, today),
        "quota": quota_summary(db.session, user, today),
        "strikes": strikes_of(db.session, user),
        "calendar_url": calendar_url_of(user),
        "certifications": [service.describe_certification(c)
                           for c in service.certifications_of(db.session, user.id)],
        "enterprises": service.enterprises_of(user),
        "venues": [{"id": v.id, "code": v.code, "name": v.name_zh} for v in user.operated_venues],
    }


# ---- API -----------------------------------------------------------------------------------


@accounts_api.post("/auth/tokens")
@throttle_by_address
@throttle_by_account
def create_token():
    """Exchange email and password for a bearer token.
    ---
    post:
      tags: [accounts]
      requestBody:
        required: true
        content:
          application/json:
            schema: TokenRequest
      responses:
        201:
          content:
            application/json:
              schema: Token
        401: {$ref: "#/components/responses/Error401"}
        429: {$ref: "#/components/responses/Error429"}
    """
    data = load(TokenRequestSchema())
    user = service.authenticate(db.session, data["email"], data["password"])
    token = service.issue_token(db.session, user, label=data["label"])
    db.session.commit()
    return jsonify(TokenSchema().dump({"token": token})), 201


@accounts_api.get("/me")
@require_roles()
def me():
    """The signed-in account: roles, usable vouchers, quota per program and year, strikes.
    ---
    get:
      tags: [accounts]
      security: [{bearer: []}]
      responses:
        200:
          content:
            application/json:
              schema: Me
    """
    summary = account_summary(current_user)
    db.session.commit()
    return jsonify(MeSchema().dump(summary))


# ---- pages ---------------------------------------------------------------------------------


def _home_of(user) -> str:
    """Where a person starts work: staff on their own work page, creators on the list."""
    if user.has_role("admin"):
        return url_for("admin.index")
    if user.has_role("finance"):
        return url_for("finance.dashboard")
    if user.has_role("operator"):
        return url_for("operator.operator_home")
    return url_for("catalog_pages.index")


@accounts_pages.route("/login", methods=["GET", "POST"])
@throttle_by_address
@throttle_by_account
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(db.session, form.email.data, form.password.data)
        except Unauthorized:
            flash(_("Email or password is wrong."), "error")
            return render_template("accounts/login.html", form=form), 401
        lang = session.get("lang")
        session.clear()  # a fresh session on sign-in: nothing from before carries over
        if lang:
            session["lang"] = lang
        login_user(user)
        # only a path on this site, judged as a browser reads it; else the person's work page
        return redirect(local_path(request.args.get("next")) or _home_of(user))
    return render_template("accounts/login.html", form=form)


@accounts_pages.post("/logout")
def logout():
    if current_user.is_authenticated:
        # a new nonce invalidates every copy of the session cookie, not only this browser's
        current_user.session_nonce = secrets.token_hex(8)
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("catalog_pages.index"))


@accounts_pages.get("/me")
@require_roles()
def me_page():
    return render_template("accounts/me.html", summary=account_summary(current_user))
