"""One error type for the domain, one JSON shape for the API, friendly pages for people.

Services raise ``AppError`` (or a subclass) with a stable ``code``; the message a person reads is
looked up by code in ``app.core.messages`` in their language when the error is rendered.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        params: dict[str, Any] | None = None,
    ):
        self.code = code or self.code
        self.status = status or self.status
        self.message = message
        self.details = details or {}
        self.params = params or {}
        super().__init__(message or self.code)


class Unauthorized(AppError):
    status = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class RuleViolation(AppError):
    """A request that is well formed but breaks a business rule."""

    status = 422
    code = "rule_violation"


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"

    def __init__(self, fields: dict[str, Any], message: str | None = None):
        super().__init__(message=message, details={"fields": fields})


class Busy(AppError):
    """A lock could not be had in time: answer rather than hang."""

    status = 409
    code = "busy"
