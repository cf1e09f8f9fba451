"""Messages people read, by error code, in their language."""

from flask_babel import lazy_gettext as _l

MESSAGES = {
    "bad_request": _l("The request could not be understood."),
    "unauthorized": _l("Please sign in first."),
    "invalid_credentials": _l("Email or password is wrong."),
    "invalid_token": _l("The API token is missing, wrong or revoked."),
    "forbidden": _l("You are not allowed to do this."),
    "not_found": _l("Not found."),
    "method_not_allowed": _l("This method is not allowed here."),
    "conflict": _l("This conflicts with the current state."),
    "busy": _l("The system is busy with the same item; please try again in a moment."),
    "validation_error": _l("Some fields are missing or invalid."),
    "rate_limited": _l("Too many attempts; please wait a minute and try again."),
    "csrf_failed": _l("The form expired or was sent from elsewhere; please reload the page and try again."),
    "too_large": _l("The upload is too large."),
    "internal_error": _l("Something went wrong on our side; nothing was saved. Please try again."),
    "no_published_list": _l("No version of the resource list has been published yet."),
    "unknown_format": _l("Unknown export format."),
    "duplicate": _l("This already exists."),
    "role_unknown": _l("Unknown role."),
    "not_eligible": _l("This account cannot be certified for that program."),
}


def message_for(code: str, fallback: str | None = None) -> str:
    text = MESSAGES.get(code)
    if text is not None:
        return str(text)
    return fallback or code.replace("_", " ")
