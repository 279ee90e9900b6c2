"""Errors and sentinel values shared by the template engine: ``TemplateError``
(Go's messages), ``NO_VALUE`` (a missing map key, printed ``<no value>``), ``Struct``
(a dict whose missing keys are errors) and
``_MISSING`` (no final argument in a pipeline).
"""

from __future__ import annotations


class TemplateError(ValueError):
    """A template failed to parse or to execute; the message is Go's."""


class _NoValueType:
    """Go's invalid ``reflect.Value``: a missing map key.  Prints ``<no value>``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


#: The value of a missing key (Go prints it as ``<no value>``).
NO_VALUE = _NoValueType()


class Struct(dict):
    """A ``dict`` standing for a Go struct: a missing field is an error (what the
    docker CLI's inspect reports, ``map has no entry for key "X"``), where a plain
    ``dict`` (a Go map) gives ``<no value>``."""


class _MissingType:
    """Marks "no final argument" in a pipeline (Go's ``missingVal``)."""

    __slots__ = ()


_MISSING = _MissingType()
