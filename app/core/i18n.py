"""Chinese first, English on request: the chosen language lives in the session."""

from __future__ import annotations

from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user

SUPPORTED = {"zh": "zh_Hans_CN", "en": "en"}


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in SUPPORTED.values():
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED.values():
        return current_user.locale
    best = request.accept_languages.best_match(["zh", "en"]) if request else None
    # Chinese is the default even for a browser that asks for neither.
    return SUPPORTED.get(best or "zh", current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def is_english() -> bool:
    return str(get_locale()).startswith("en")


def localized(obj, field: str) -> str:
    """Pick ``field_en`` in English (falling back to Chinese), ``field_zh``/``field`` otherwise."""
    get = obj.get if isinstance(obj, dict) else lambda k, d=None: getattr(obj, k, d)
    if is_english():
        english = get(f"{field}_en")
        if english:
            return english
    return get(f"{field}_zh") or get(field) or ""
