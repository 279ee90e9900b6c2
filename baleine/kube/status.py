"""API errors as Kubernetes ``Status`` objects (the body of every failure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           406: "NotAcceptable", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid",
           500: "InternalError"}


@dataclass
class Cause:
    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported...
    message: str
    field: str


@dataclass
class APIError(Exception):
    """A failure answered with ``code`` and a Status; ``reason`` defaults from the code."""

    code: int
    message: str
    reason: str = ""
    kind: str = ""
    name: str = ""
    group: str = ""
    causes: list[Cause] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def status(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in self.causes]
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason or REASONS.get(self.code, ""),
                                "code": self.code}
        if details:
            body["details"] = details
        return body


def not_found(plural: str, group: str, name: str) -> APIError:
    what = f"{plural}.{group}" if group else plural
    return APIError(404, f'{what} "{name}" not found', kind=plural, name=name, group=group)


def already_exists(plural: str, group: str, name: str) -> APIError:
    what = f"{plural}.{group}" if group else plural
    return APIError(409, f'{what} "{name}" already exists', "AlreadyExists", kind=plural, name=name, group=group)


def conflict(plural: str, group: str, name: str) -> APIError:
    what = f"{plural}.{group}" if group else plural
    return APIError(409, f'Operation cannot be fulfilled on {what} "{name}": the object has been modified; '
                         "please apply your changes to the latest version and try again",
                    "Conflict", kind=plural, name=name, group=group)

