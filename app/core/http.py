"""Request-wide behaviour: CSRF for cookie writes, security headers, errors, template helpers."""

from __future__ import annotations

import logging
import math
import time

from flask import (
    Flask,
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from app.core.api import error_response
from app.core.errors import AppError, NotFound
from app.core.messages import error_message, message_for
from app.core.schemas import INT_MAX
from app.extensions import csrf, db, limiter

log = logging.getLogger("venuebook.errors")

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Endpoints that take credentials in the body and use no ambient cookie authority; payment
# providers' notifications carry their own signature instead.
CSRF_EXEMPT_ENDPOINTS = {"accounts_api.create_token", "online_api.notify"}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "media-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

HSTS_MAX_AGE = 365 * 24 * 3600  # a year: the usual value, long enough to matter

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
}


# Browsers drop these from anywhere in a URL (WHATWG URL parsing), and read "\\" as "/".
_DROPPED_FROM_URLS = str.maketrans("", "", "\t\n\r")


def local_path(target: str | None) -> str | None:
    """``target`` as a path on this site, read the way a browser will read it; else None.

    Checking the raw text is not enough: "/\t/evil.example" passes a "starts with one slash"
    test, yet the browser (or Werkzeug before it) drops the tab and goes to //evil.example.
    """
    if not target:
        return None
    path = target.translate(_DROPPED_FROM_URLS).replace("\\", "/")
    if not path.startswith("/") or path.startswith("//"):
        return None
    return path


def redirect_to_next() -> Response:
    """Back to where the person came from (``?next=``) when that is on this site, else home."""
    return redirect(local_path(request.args.get("next")) or url_for("catalog_pages.index"))


class VenueBook(Flask):
    """Flask, retrying a read once when its database connection turns out to be dead.

    Pooled connections are not pinged before use (``app.core.db.install_connection_recovery``):
    one the server closed is replaced at checkout, but one that died silently fails the first
    statement sent on it. SQLAlchemy invalidates it; a read then runs again on a fresh
    connection. Nothing a read did can have been committed, so running it again is safe;
    writes are not retried here (their clients retry with an Idempotency-Key).
    """

    def dispatch_request(self):
        try:
            return super().dispatch_request()
        except DBAPIError as err:
            if not err.connection_invalidated or request.method not in SAFE_METHODS \
                    or g.get("db_retried"):
                raise
            log.warning("database connection lost; reading again",
                        extra={"request_id": g.get("request_id"), "path": request.path})
            g.db_retried = True
            db.session.rollback()
            return super().dispatch_request()


def conditional_response(body: bytes, etag: str, mimetype: str, headers: dict | None = None):
    """``body`` under its strong ETag, or 304 Not Modified when the client sent that ETag."""
    response = current_app.response_class(body, mimetype=mimetype, headers=headers)
    response.set_etag(etag)
    return response.make_conditional(request)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def register_security(app: Flask) -> None:
    @app.before_request
    def _csrf_for_cookie_writes():
        if request.method not in UNSAFE_METHODS or not current_app.config["WTF_CSRF_ENABLED"]:
            return
        if request.endpoint in CSRF_EXEMPT_ENDPOINTS:
            return
        from app.core.auth import bearer_token

        if bearer_token() is not None:
            return  # a bearer token is not sent by browsers on their own: no CSRF risk
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            # No account behind the cookie, so no authority to forge: the view answers 401
            # where it needs one, which tells a script more than "csrf_failed" would.
            return
        csrf.protect()

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
        if current_app.config["SESSION_COOKIE_SECURE"]:
            # Secure cookies mean the site is served over HTTPS: keep browsers from ever trying
            # plain http first, where the first request could be intercepted.
            headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE}")
        if request.path.startswith("/api/") and "no-store" not in headers.get("Cache-Control", ""):
            # API answers carry personal data and money: no cache keeps them, whatever a view set
            headers["Cache-Control"] = "no-store"
        return response


def _render_error(status: int, code: str, message: str | None = None, details=None):
    if wants_json():
        response = error_response(status, code, message or message_for(code), details)
        if status == 401:
            # RFC 6750: name the scheme to authenticate with, and say when a token was refused
            response.headers["WWW-Authenticate"] = (
                'Bearer error="invalid_token"' if code == "invalid_token" else "Bearer")
        return response
    return (
        render_template("error.html", status=status, code=code,
                        message=message or message_for(code), details=details or {}),
        status,
    )


def _seconds_until_allowed() -> int:
    """When the breached limit lets the next attempt through (what Retry-After also says)."""
    breached = limiter.current_limit
    if breached is None:
        return 60
    return max(1, math.ceil(breached.reset_at - time.time()))


def register_error_handlers(app: Flask) -> None:
    @app.url_value_preprocessor
    def _ids_within_columns(endpoint, values):
        # <int:...> takes any number of digits; one beyond the integer columns names no row, and
        # the driver would overflow on it (a 500) before the lookup could say "not found".
        if values and any(isinstance(v, int) and v > INT_MAX for v in values.values()):
            raise NotFound()

    @app.errorhandler(AppError)
    def _app_error(err: AppError):
        db.session.rollback()
        message = error_message(err)
        details = dict(err.details)
        if err.message and err.message != message:
            details.setdefault("reason", err.message)
        return _render_error(err.status, err.code, message, details)

    @app.errorhandler(CSRFError)
    def _csrf_error(err):
        return _render_error(400, "csrf_failed", details={"reason": err.description})

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        db.session.rollback()
        status = err.code or 500
        code = HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
        if status == 429:
            wait = _seconds_until_allowed()
            response = make_response(_render_error(
                429, "rate_limited", message_for("rate_limited") % {"seconds": wait},
                details={"limit": str(err.description), "retry_after": wait}))
            # the same number the person reads (the limiter's own header has another name)
            response.headers["Retry-After"] = str(wait)
            return response
        return _render_error(status, code)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        db.session.rollback()
        log.exception("unhandled error", extra={"request_id": g.get("request_id"),
                                                 "path": request.path})
        return _render_error(500, "internal_error")


def register_templates(app: Flask) -> None:
    from app.catalog.rules import KIND_LABELS, WEEKDAY_LABELS
    from app.core import labels
    from app.core.clock import to_local
    from app.core.i18n import is_english, localized
    from app.core.money import format_yuan

    app.jinja_env.filters["yuan"] = format_yuan
    # A message a service wrote in English, in the reader's language where the catalogue has it.
    app.jinja_env.filters["tr"] = lambda text: gettext(text) if isinstance(text, str) and text else text
    app.jinja_env.filters["local"] = lambda dt, fmt="%Y-%m-%d %H:%M": to_local(dt).strftime(fmt) if dt else ""
    app.jinja_env.globals.update(
        loc=localized,
        kind_label=lambda kind: labels.bilingual(KIND_LABELS, kind),
        weekday_label=lambda day: labels.bilingual(WEEKDAY_LABELS, day),
        is_english=is_english,
        kind_choices=list(KIND_LABELS),
        # Slots are links for those who may book (anyone signed out is asked to sign in first).
        can_book=lambda: not current_user.is_authenticated or current_user.has_role("creator"),
        booking_status=lambda status: labels.label(labels.BOOKING_STATUS, status),
        role_label=lambda role: labels.label(labels.ROLES, role),
        field_label=lambda field: labels.label(labels.FIELDS, field),
    )
