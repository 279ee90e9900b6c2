"""Domain errors of the engine.

The engine raises only these; the API layer maps each class to one HTTP status
(see ``baleine.api.errors``) and the CLI maps API failures to exit codes. Their
messages are shown to users verbatim, so they say what is wrong in Docker's words.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose (HTTP 500 if not refined)."""

    status = 500


class InvalidParameter(EngineError):
    """The caller asked for something malformed or impossible (HTTP 400)."""

    status = 400


class NotFound(EngineError):
    """A container, image, exec or other object does not exist (HTTP 404)."""

    status = 404


class Conflict(EngineError):
    """The request conflicts with the current state, e.g. a name in use (HTTP 409)."""

    status = 409


class NotModified(EngineError):
    """Nothing to do: the container is already started or stopped (HTTP 304)."""

    status = 304


class Forbidden(EngineError):
    """The operation is not allowed on this object (HTTP 403)."""

    status = 403


class Unavailable(EngineError):
    """A dependency (runtime, registry) could not be reached (HTTP 503)."""

    status = 503


class ExecStartFailed(InvalidParameter):
    """An exec's process could not be prepared (e.g. its user is not in the image's
    passwd). The exec is over with exit code 126, as dockerd records it; an attached
    start reports the message on the stream, as dockerd writes it after the hijack."""
