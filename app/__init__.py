"""Application factory: settings, extensions, blueprints, errors, CLI. No I/O happens here."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger("venuebook.config")


def create_app(config: dict | None = None) -> Flask:
    from app.core.http import VenueBook

    app = VenueBook(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    from app.config import load_settings

    app.config.update(load_settings(instance))
    app.json.ensure_ascii = False  # Chinese stays readable in JSON
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in register_security, bearer calls skip it
    if config:
        app.config.update(config)
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # Believe X-Forwarded-For/-Proto/-Host only as far as our own proxies set them: the
        # client address then is the real one (throttling), and https is seen as such.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from app.core.logging import configure_logging

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    from app.core.http import register_error_handlers, register_security, register_templates
    from app.core.request_input import register_input_guards

    register_security(app)
    register_input_guards(app)
    register_error_handlers(app)
    register_templates(app)
    return app


def register_extensions(app: Flask) -> None:
    # The models must be imported before metadata is used by migrate/create_all.
    from app import models as _all_models  # noqa: F401
    from app.accounts import service as accounts_service
    from app.core.auth import init_auth
    from app.core.db import install_connection_recovery
    from app.core.i18n import select_locale, select_timezone
    from app.extensions import babel, csrf, db, limiter, migrate

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            install_connection_recovery(engine)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    warn_if_limits_are_per_process(app)
    init_auth(app)
    if app.config.get("PASSWORD_HASH_METHOD"):
        accounts_service.PASSWORD_METHOD["method"] = app.config["PASSWORD_HASH_METHOD"]


def warn_if_limits_are_per_process(app: Flask) -> None:
    """Several workers on ``memory://`` each count on their own: N workers allow N times the limit."""
    from app.config import web_worker_count

    workers = web_worker_count(sys.argv, os.environ)
    storage = app.config.get("RATELIMIT_STORAGE_URI", "memory://")
    if workers > 1 and app.config["RATELIMIT_ENABLED"] and storage.startswith("memory://"):
        log.warning(
            "%s workers keep sign-in throttling counts in their own memory, so each allows the "
            "full limit; set RATELIMIT_STORAGE_URI=redis://... to share them", workers)


def register_blueprints(app: Flask) -> None:
    from app.accounts.routes import accounts_api, accounts_pages
    from app.admin import venue_pages  # noqa: F401  (its routes hang on admin_pages)
    from app.admin.routes import admin_api, admin_pages, operator_pages
    from app.booking.api import booking_api
    from app.booking.feeds import calendar_bp
    from app.booking.pages import booking_pages
    from app.catalog.routes import catalog_api, catalog_pages
    from app.checkin.desk_routes import desk_api, desk_pages
    from app.checkin.routes import checkin_api, checkin_pages
    from app.cli import cli
    from app.core.openapi import openapi_bp
    from app.core.routes import core_bp
    from app.finance.pages import finance_pages
    from app.finance.routes import finance_api
    from app.notify.routes import notify_bp
    from app.ops.cli import ops_cli
    from app.ops.routes import ops_bp
    from app.payments.online_routes import online_api, online_pages
    from app.payments.pages import payments_pages
    from app.payments.routes import payments_api
    from app.privacy.routes import privacy_pages
    from app.vouchers.pages import money_pages
    from app.vouchers.routes import money_api

    for blueprint in (core_bp, openapi_bp, cli, catalog_pages, catalog_api, accounts_pages,
                      accounts_api, admin_pages, admin_api, operator_pages, booking_api,
                      booking_pages, calendar_bp, money_api, checkin_api, checkin_pages, money_pages,
                      finance_api, notify_bp, finance_pages, payments_api, payments_pages,
                      online_api, online_pages, ops_cli, ops_bp, privacy_pages, desk_api,
                      desk_pages):
        app.register_blueprint(blueprint)
