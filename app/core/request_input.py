"""Request input the app can store and parse, checked once before any view reads it.

- No NUL characters: PostgreSQL text cannot hold one (the driver raises, a 500), and SQLite
  would store it silently. A NUL in the path names nothing (404); in the query string, a form
  or a JSON body it is invalid input (422, listing the fields).
- JSON nested at most ``MAX_JSON_DEPTH`` levels: Python's parser recurses once per level, so
  ``"[" * 100000`` ends in RecursionError (a 500) before any schema could refuse it. No body of
  this API comes near the limit.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from flask import Flask, Request, request

from app.core.errors import NotFound, ValidationFailed

NUL = "\x00"
MAX_JSON_DEPTH = 32
NUL_PROBLEM = "Contains a NUL character."
DEPTH_PROBLEM = f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# A scanned code is whatever the camera read: a mangled one is stored as a failed scan, as every
# scan is, not refused. Its NULs become U+FFFD, which says in the record that something unreadable
# arrived.
NUL_REPLACED_ENDPOINTS = {"checkin_api.create_checkin"}
REPLACEMENT = "\ufffd"

_NESTING_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest, without parsing (and so without recursing).

    Brackets inside strings do not count; escaped quotes are handled by skipping whole strings.
    """
    brackets = _BRACKET.findall(_JSON_STRING.sub("", text))
    return max(accumulate(map(_NESTING_STEP.__getitem__, brackets)), default=0)


def _field_name(name: str) -> str:
    return name.replace(NUL, REPLACEMENT)


def _nul_fields(value: Any, path: str = "") -> list[str]:
    """The JSON paths (``a.b[2]``) of strings or keys holding a NUL; depth is already bounded."""
    if isinstance(value, str):
        return [path or "_body"] if NUL in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{_field_name(key)}" if path else _field_name(key)
            if NUL in key:
                found.append(where)
            found.extend(_nul_fields(item, where))
        return found
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _nul_fields(item, f"{path}[{i}]")]
    return []


def _replace_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {_replace_nul(k): _replace_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_nul(item) for item in value]
    return value


class GuardedJSON:
    """Reads request bodies through the app's JSON provider: bounded nesting, no NUL characters.

    Refusals raise ``ValidationFailed`` rather than ``ValueError`` so that they reach the person
    as such even where a view reads the body with ``get_json(silent=True)``.
    """

    def __init__(self, provider: Any):
        self.provider = provider

    def loads(self, data: str | bytes, **kwargs: Any) -> Any:
        text = data.decode(json.detect_encoding(data), "surrogatepass") \
            if isinstance(data, bytes) else data
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ValidationFailed({"_body": [DEPTH_PROBLEM]})
        value = self.provider.loads(text, **kwargs)
        if request.endpoint in NUL_REPLACED_ENDPOINTS:
            return _replace_nul(value)
        fields = _nul_fields(value)
        if fields:
            raise ValidationFailed({name: [NUL_PROBLEM] for name in fields})
        return value

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.provider.dumps(obj, **kwargs)


class GuardedRequest(Request):
    """The app's request class: ``get_json`` reads through ``GuardedJSON``."""

    _json_reader = GuardedJSON(json)

    @property
    def json_module(self) -> GuardedJSON:
        return self._json_reader

    @json_module.setter
    def json_module(self, provider: Any) -> None:
        # Flask hands every request the app's JSON provider here; bodies are read through it.
        self._json_reader = GuardedJSON(provider)


def refuse_nul_characters() -> None:
    """Before every view: the path, the query string, a submitted form and a JSON body hold no
    NUL, and a JSON body is not nested beyond reason."""
    if NUL in request.path:
        raise NotFound()
    sources = [request.args]
    if request.mimetype in FORM_TYPES:
        if request.mimetype == "application/x-www-form-urlencoded":
            # keep the raw body readable after the form is parsed: a payment provider's
            # signed notification is verified over its exact bytes
            request.get_data(cache=True, parse_form_data=False)
        sources.append(request.form)
    fields = {_field_name(name): [NUL_PROBLEM] for source in sources
              for name, values in source.lists()
              if NUL in name or any(NUL in value for value in values)}
    if fields:
        raise ValidationFailed(fields)
    if request.is_json and request.content_length:
        # read now (and kept for the view): a body too deeply nested or holding NUL is refused
        # even by an endpoint that takes no body
        request.get_json(silent=True)


def register_input_guards(app: Flask) -> None:
    app.request_class = GuardedRequest
    app.before_request(refuse_nul_characters)
