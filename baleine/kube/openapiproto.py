"""``/openapi/v2`` in protobuf: the Swagger document as gnostic's ``openapi.v2.Document``.

kubectl validates a manifest against the server's schema; for kinds the server
validates itself it asks for OpenAPI v3 in JSON, but for a ``List`` (what
``kubectl get -o yaml`` prints, and many manifests are) it reads ``/openapi/v2``
asking only for ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
and gives up without it. This encodes the JSON document :func:`openapi.v2` makes,
with the field numbers of gnostic's ``openapiv2/OpenAPIv2.proto``: the swagger
version, info and the definitions (schemas with their ``x-kubernetes-*``
extensions, which is what kubectl's validation reads). Values of free form
(defaults, enums, examples, extensions) are gnostic ``Any`` messages carrying YAML.
"""

from __future__ import annotations

import struct
from typing import Any

import yaml

Obj = dict[str, Any]


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values: two's complement, ten bytes
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _string(field: int, text: str) -> bytes:
    return _bytes(field, text.encode()) if text else b""


def _int(field: int, n: int | bool) -> bytes:
    return _varint(field << 3) + _varint(int(n)) if n else b""


def _double(field: int, x: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", float(x))


def _any(field: int, value: Any) -> bytes:
    """A gnostic ``Any`` holding ``value`` as YAML (field 2)."""
    return _bytes(field, _string(2, yaml.safe_dump(value, default_flow_style=None).rstrip("\n")))


def _named_any(field: int, name: str, value: Any) -> bytes:
    return _bytes(field, _string(1, name) + _any(2, value))


_STRINGS = {"$ref": 1, "format": 2, "title": 3, "description": 4, "pattern": 13, "discriminator": 26}
_INTS = {"maxLength": 11, "minLength": 12, "maxItems": 14, "minItems": 15, "maxProperties": 17,
         "minProperties": 18}
_BOOLS = {"exclusiveMaximum": 8, "exclusiveMinimum": 10, "uniqueItems": 16, "readOnly": 27}
_DOUBLES = {"multipleOf": 6, "maximum": 7, "minimum": 9}


def schema(s: Obj) -> bytes:
    """One JSON schema as an ``openapi.v2.Schema`` message (unknown keywords are dropped)."""
    out = bytearray()
    for key, value in s.items():
        if key in _STRINGS:
            out += _string(_STRINGS[key], str(value))
        elif key in _INTS:
            out += _int(_INTS[key], int(value))
        elif key in _BOOLS:
            out += _int(_BOOLS[key], bool(value))
        elif key in _DOUBLES:
            out += _double(_DOUBLES[key], value)
        elif key == "default":
            out += _any(5, value)
        elif key == "required":
            out += b"".join(_string(19, r) for r in value)
        elif key == "enum":
            out += b"".join(_any(20, v) for v in value)
        elif key == "additionalProperties":
            item = _int(2, value) if isinstance(value, bool) else _bytes(1, schema(value))
            out += _bytes(21, item)
        elif key == "type":
            out += _bytes(22, b"".join(_string(1, t) for t in (value if isinstance(value, list) else [value])))
        elif key == "items":
            out += _bytes(23, b"".join(_bytes(1, schema(i)) for i in (value if isinstance(value, list) else [value])))
        elif key == "allOf":
            out += b"".join(_bytes(24, schema(i)) for i in value)
        elif key == "properties":
            out += _bytes(25, b"".join(_bytes(1, _string(1, name) + _bytes(2, schema(sub)))
                                       for name, sub in value.items()))
        elif key == "example":
            out += _any(30, value)
        elif key.startswith("x-"):
            out += _named_any(31, key, value)
    return bytes(out)


def document(doc: Obj) -> bytes:
    """A Swagger 2.0 document (swagger, info, definitions) as ``openapi.v2.Document``."""
    info = doc.get("info") or {}
    out = _string(1, doc.get("swagger", "2.0"))
    out += _bytes(2, _string(1, info.get("title", "")) + _string(2, info.get("version", "")))
    definitions = doc.get("definitions") or {}
    out += _bytes(9, b"".join(_bytes(1, _string(1, name) + _bytes(2, schema(s))) for name, s in definitions.items()))
    return out
