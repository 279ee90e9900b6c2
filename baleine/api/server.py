"""Deprecated: the helpers moved to ``requests`` (decoding, Router, backends_of) and
``responses`` (encoding); the application to ``app``. Kept, helpers only, for the
modules whose owners have not yet changed their imports (images, build,
distribution, hijack); it imports no resource module, so no import circle."""

from __future__ import annotations

from .requests import Handler, Router, backends_of, client_gone, qbool, qint, read_json
from .responses import NoResponse, api_headers as _api_headers, error_response, json_response

__all__ = ["Handler", "NoResponse", "Router", "_api_headers", "backends_of", "client_gone",
           "error_response", "json_response", "qbool", "qint", "read_json"]
