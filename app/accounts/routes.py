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

from app.accounts import links, passwords, registration, service
from app.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.accounts.schemas import MeSchema, TokenRequestSchema, TokenSchema
from app.core.api import load
from app.core.auth import require_roles
from app.core.clock import local_today, now
from app.core.errors import AppError, Unauthorized, ValidationFailed
from app.core.http import local_path
from app.core.i18n import is_english
from app.core.messages import error_message
from app.core.request_input import FORM_TYPES
from app.extensions import db, limiter
from app.privacy import rules as privacy_rules
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
# Pages that send email or create accounts: limited per address, and reset requests per named
# account too, so nobody can flood someone's inbox.
throttle_mail_by_address = limiter.shared_limit(_login_limit, scope="mail-address",
                                                methods=["POST"])
throttle_mail_by_account = limiter.shared_limit(_account_limit, scope="mail-account",
                                                key_func=_account_of_attempt, methods=["POST"])


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
        "venues": [{"id": v.id, "code": v.code, "name": v.name_zh, "name_en": v.name_en}
                   for v in user.operated_venues],
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
        except Unauthorized as err:
            flash(error_message(err), "error")
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


def emailed_link(endpoint: str):
    """Builds emailed links. With PUBLIC_URL set they use it, not the Host header a request
    brought (a forged Host must not send someone a reset link to another site)."""
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")

    def link_for(secret: str) -> str:
        if base:
            return base + url_for(endpoint, secret=secret)
        return url_for(endpoint, secret=secret, _external=True)

    return link_for


def _field_errors(form, err: ValidationFailed) -> None:
    """Show a service's field errors beside the form's fields (in English only for fields the
    form's own validators did not already catch in the reader's language)."""
    for name, messages in err.details.get("fields", {}).items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)


def _restart_session(user) -> None:
    """A fresh session cookie for ``user`` (keeping only the chosen language)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)


@accounts_pages.route("/me/password", methods=["GET", "POST"])
@require_roles()
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            passwords.change_password(db.session, current_user, form.current_password.data,
                                      form.new_password.data, form.repeat.data, now())
        except ValidationFailed as err:
            db.session.rollback()
            _field_errors(form, err)
        except AppError as err:
            db.session.rollback()
            form.current_password.errors = [error_message(err)]
        else:
            db.session.commit()
            _restart_session(current_user._get_current_object())  # this browser stays signed in
            flash(_("Your password is changed. Other devices and API tokens are signed out."),
                  "success")
            return redirect(url_for("accounts.me_page"))
    status = 422 if form.errors else 200
    return render_template("accounts/password_change.html", form=form), status


@accounts_pages.route("/password/forgot", methods=["GET", "POST"])
@throttle_mail_by_address
@throttle_mail_by_account
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        passwords.request_reset(db.session, form.email.data, now(),
                                emailed_link("accounts.reset_password"))
        db.session.commit()
        return render_template("accounts/mail_sent.html", reset=True)
    return render_template("accounts/password_forgot.html", form=form)


def _link_problem(err: AppError):
    return render_template("accounts/link_problem.html", message=error_message(err)), err.status


@accounts_pages.route("/password/reset/<secret>", methods=["GET", "POST"])
@throttle_mail_by_address
def reset_password(secret: str):
    form = ResetPasswordForm()
    try:
        links.peek(db.session, secret, "password_reset", now())
        if form.validate_on_submit():
            passwords.reset_password(db.session, secret, form.new_password.data,
                                     form.repeat.data, now())
            db.session.commit()
            flash(_("Your new password is set. Please sign in with it."), "success")
            return redirect(url_for("accounts.login"))
    except ValidationFailed as err:
        db.session.rollback()
        _field_errors(form, err)
    except (links.LinkInvalid, links.LinkUsed, links.LinkExpired) as err:
        db.session.rollback()
        return _link_problem(err)
    return render_template("accounts/password_reset.html", form=form), (
        422 if form.errors else 200)


@accounts_pages.route("/register", methods=["GET", "POST"])
@throttle_mail_by_address
def register():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.me_page"))
    form = RegisterForm()
    language = "en" if is_english() else "zh"
    if form.validate_on_submit():
        try:
            registration.register_creator(
                db.session, email=form.email.data, display_name=form.display_name.data,
                phone=form.phone.data, password=form.new_password.data,
                repeat=form.repeat.data, notice_version=request.form.get("notice_version", ""),
                locale="en" if language == "en" else "zh_Hans_CN", at=now(),
                link_for=emailed_link("accounts.verify_email"))
        except ValidationFailed as err:
            db.session.rollback()
            _field_errors(form, err)
            if "consent" in err.details["fields"]:  # the notice changed while the page was open
                form.consent.errors = [_("The privacy notice has changed: please read it again "
                                         "and agree.")]
        except AppError as err:
            db.session.rollback()
            form.email.errors = [error_message(err)]
        else:
            db.session.commit()
            return render_template("accounts/mail_sent.html", reset=False)
    return render_template(
        "accounts/register.html", form=form, notice_version=privacy_rules.CURRENT_NOTICE,
        notice=privacy_rules.NOTICES[privacy_rules.CURRENT_NOTICE][language],
    ), (422 if form.errors else 200)


@accounts_pages.route("/verify/<secret>", methods=["GET", "POST"])
def verify_email(secret: str):
    """GET shows a button, POST uses the link: mail scanners that open links must not spend it."""
    try:
        if request.method == "POST":
            registration.verify_email(db.session, secret, now())
            db.session.commit()
            flash(_("Your email address is confirmed: you can book now."), "success")
            return redirect(url_for("accounts.me_page") if current_user.is_authenticated
                            else url_for("accounts.login"))
        links.peek(db.session, secret, "verify_email", now())
    except (links.LinkInvalid, links.LinkUsed, links.LinkExpired) as err:
        db.session.rollback()
        return _link_problem(err)
    return render_template("accounts/verify.html")


@accounts_pages.post("/me/verify/resend")
@require_roles()
@throttle_mail_by_address
def resend_verification():
    try:
        registration.resend_verification(db.session, current_user, now(),
                                         emailed_link("accounts.verify_email"))
    except AppError as err:
        db.session.rollback()
        flash(error_message(err), "error")
    else:
        db.session.commit()
        flash(_("We sent you a new confirmation link."), "success")
    return redirect(url_for("accounts.me_page"))
