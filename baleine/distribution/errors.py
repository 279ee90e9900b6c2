"""Errors of registry operations, worded as dockerd words them.

A registry answers errors as ``{"errors": [{"code": "MANIFEST_UNKNOWN", "message":
..., "detail": ...}]}``; :func:`from_response` turns that into a
:class:`RegistryError`, whose text is distribution's ``errcode`` rendering
(``manifest unknown: manifest unknown``). The puller and pusher then wrap it the
way moby's ``translatePullError`` does (``manifest for x:1 not found: ...``). All
of these are engine errors, so the API layer maps them to statuses unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from ..rules.errors import EngineError, InvalidParameter, NotFound


class Unauthorized(EngineError):
    """Credentials were refused (HTTP 401)."""

    status = 401


class RegistryError(EngineError):
    """A registry answered with an error.

    ``codes`` are the spec error codes of the body (may be empty), ``http_status``
    the HTTP status the registry sent.
    """

    def __init__(self, message: str, http_status: int = 0, codes: list[str] | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.codes = codes or []
        if http_status == 404:
            self.status = 404
        elif http_status == 401:
            self.status = 401
        elif http_status == 403:
            self.status = 403

    @property
    def code(self) -> str:
        return self.codes[0] if self.codes else ""


class ConnectionFailed(EngineError):
    """The registry could not be reached or the connection broke (HTTP 500, as dockerd)."""


class VerificationFailed(InvalidParameter):
    """Downloaded content does not match its digest."""


def errcode_text(code: str, message: str) -> str:
    """distribution's ``errcode.Error.Error()``: ``manifest unknown: <message>``."""
    return f"{code.lower().replace('_', ' ')}: {message}" if code else message


def from_response(status: int, body: bytes, fallback: str) -> RegistryError:
    """A RegistryError from an error response body (spec JSON or anything else)."""
    codes: list[str] = []
    text = ""
    try:
        doc: Any = json.loads(body) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("errors"), list) and doc["errors"]:
        first = doc["errors"][0] if isinstance(doc["errors"][0], dict) else {}
        for e in doc["errors"]:
            if isinstance(e, dict) and e.get("code"):
                codes.append(str(e["code"]))
        text = errcode_text(str(first.get("code") or ""), str(first.get("message") or ""))
    elif isinstance(doc, dict) and (doc.get("details") or doc.get("message")):
        text = str(doc.get("details") or doc.get("message"))
    if not text:
        if status == 401:
            text, codes = "unauthorized: authentication required", codes or ["UNAUTHORIZED"]
        elif status == 403:
            text, codes = "denied: requested access to the resource is denied", codes or ["DENIED"]
        else:
            snippet = body[:200].decode(errors="replace").strip() if body else ""
            text = f"{fallback}: unexpected status {status}" + (f": {snippet}" if snippet else "")
    return RegistryError(text, status, codes)


def pull_error(exc: RegistryError, familiar_name: str, familiar_ref: str) -> EngineError:
    """moby's ``translatePullError``: not-found and denied errors get the image named."""
    code = exc.code
    if code == "DENIED" or (exc.http_status in (401, 403) and code in ("", "UNAUTHORIZED")):
        return NotFound(f"pull access denied for {familiar_name}, repository does not exist or may require "
                        f"'docker login': {exc}")
    if code == "MANIFEST_UNKNOWN" or (exc.http_status == 404 and not code):
        return NotFound(f"manifest for {familiar_ref} not found: {exc}")
    if code == "NAME_UNKNOWN":
        return NotFound(f"repository {familiar_name} not found: {exc}")
    return exc
