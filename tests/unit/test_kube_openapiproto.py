"""/openapi/v2 in gnostic's protobuf: the fields kubectl's validation reads."""

from __future__ import annotations

import yaml

from baleine.kube import openapiproto
from baleine.kube.protobuf import fields


def test_varints_and_negative_numbers() -> None:
    assert openapiproto._varint(1) == b"\x01"
    assert openapiproto._varint(300) == b"\xac\x02"
    assert len(openapiproto._varint(-1)) == 10


def test_a_schema_keeps_types_properties_required_and_extensions() -> None:
    s = {"type": "object", "required": ["name"], "description": "d",
         "properties": {"name": {"type": "string"}, "n": {"type": "integer", "format": "int32", "minimum": 0}},
         "x-kubernetes-group-version-kind": [{"group": "", "kind": "ConfigMap", "version": "v1"}],
         "additionalProperties": {"type": "string"}}
    got = dict(fields(openapiproto.schema(s)))
    assert dict(fields(got[22])) == {1: b"object"}            # type
    assert got[19] == b"name"                                 # required
    assert got[4] == b"d"                                     # description
    props = [dict(fields(p)) for _, p in fields(got[25])]     # properties: NamedSchema
    assert [p[1] for p in props] == [b"name", b"n"]
    n = dict(fields(props[1][2]))
    assert n[2] == b"int32"                                   # format
    assert b"\x49" + bytes(8) in props[1][2]                  # minimum: field 9, a double (0.0)
    ext = dict(fields(got[31]))                               # vendor extension: NamedAny
    assert ext[1] == b"x-kubernetes-group-version-kind"
    assert yaml.safe_load(dict(fields(ext[2]))[2]) == s["x-kubernetes-group-version-kind"]
    extra = dict(fields(dict(fields(got[21]))[1]))            # additionalProperties: its schema
    assert dict(fields(extra[22])) == {1: b"string"}
    assert dict(fields(dict(fields(openapiproto.schema({"additionalProperties": True})))[21])) == {2: 1}


def test_the_document_carries_version_info_and_definitions() -> None:
    doc = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32"},
           "definitions": {"a.B": {"type": "string"}}}
    top = dict(fields(openapiproto.document(doc)))
    assert top[1] == b"2.0"
    assert dict(fields(top[2])) == {1: b"Kubernetes", 2: b"v1.32"}
    named = dict(fields(dict(fields(top[9]))[1]))
    assert named[1] == b"a.B"
