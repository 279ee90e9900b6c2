"""Unit tests for baleine.rules.filters (moby api/types/filters semantics)."""

from __future__ import annotations

import json

import pytest

from baleine.rules.errors import InvalidParameter
from baleine.rules.filters import Filters, from_cli, parse

# fmt: off
# Observed from moby's filters.FromJSON (re-encoded with encoding/json).
FROM_JSON = [
    ('{"label":{"a=b":true}}', {'label': {'a=b': True}}, None),
    ('{"label":["a=b"]}', {'label': {'a=b': True}}, None),
    ('', {}, None),
    ('null', {}, None),
    ('{}', {}, None),
    ('[]', None, 'invalid filter'),
    ('"x"', None, 'invalid filter'),
    ('1', None, 'invalid filter'),
    ('true', None, 'invalid filter'),
    ('{"a":null}', {'a': None}, None),
    ('{"a":{"x":null}}', {'a': {'x': False}}, None),
    ('{"a":{"x":false}}', {'a': {'x': False}}, None),
    ('{"a":[null,"y"]}', {'a': {'': True, 'y': True}}, None),
    ('{"a":{"x":true},"b":["y"]}', None, 'invalid filter'),
    ('{"a":"x"}', None, 'invalid filter'),
    ('{"a":{"x":"true"}}', None, 'invalid filter'),
    ('{"a":[1]}', None, 'invalid filter'),
    ('{"a":{"x":1}}', None, 'invalid filter'),
    ('x', None, 'invalid filter'),
    ('{"a":{"x":true}} x', None, 'invalid filter'),
    (' {"a":["b"]} ', {'a': {'b': True}}, None),
    ('{"a":["x","x"]}', {'a': {'x': True}}, None),
    ('{"a":{"<&>":true}}', {'a': {'<&>': True}}, None),
    ('{"a":[]}', {'a': {}}, None),
    ('{"a":{}}', {'a': {}}, None),
    ('{"a":["b"],"a":["c"]}', {'a': {'c': True}}, None),
    ('{"a":{"b":true},"a":{"c":true}}', {'a': {'c': True}}, None),
    ('{"dangling":{"true":true},"label":{"k=v":true,"k2":true}}', {'dangling': {'true': True}, 'label': {'k2': True, 'k=v': True}}, None),
    ('{"a":[["x"]]}', None, 'invalid filter'),
    ('{"a":[{"x":1}]}', None, 'invalid filter'),
    ('{"a":{"x":{"y":true}}}', None, 'invalid filter'),
    ('NaN', None, 'invalid filter'),
    ('{"a":{"x":NaN}}', None, 'invalid filter'),
    ('{"a":["\\u00e9"]}', {'a': {'é': True}}, None),
    ('{"é":["x"]}', {'é': {'x': True}}, None),
    ('{"a":["x"]', None, 'invalid filter'),
    ('{"a":{"b":true}}}', None, 'invalid filter'),
    ('\ufeff{}', None, 'invalid filter'),
    ('{"a":{"b":tru}}', None, 'invalid filter'),
]
# fmt: on


@pytest.mark.parametrize(("query", "expected", "error"), FROM_JSON)
def test_parse_matches_moby_from_json(query, expected, error):
    if error is not None:
        with pytest.raises(InvalidParameter) as exc:
            parse(query)
        assert str(exc.value) == error
        assert exc.value.status == 400
        return
    got = parse(query).to_dict()
    # Go keeps a JSON null as a nil map; here it is an empty one (same meaning).
    assert got == {k: (v if v is not None else {}) for k, v in expected.items()}


@pytest.mark.parametrize(
    "query",
    [
        '{"key": ["value"]}',
        '{"key": {"value": true}}',
    ],
)
def test_both_wire_forms_decode_alike(query):
    f = parse(query)
    assert f.get("key") == ["value"]
    assert f.contains("key")
    assert len(f) == 1


@pytest.mark.parametrize(
    "query",
    [
        "anything",
        "['a','list']",
        "{'key': 'value'}",
        '{"key": "value"}',
        "[]",
        '"x"',
        "1",
        "true",
        '{"a":{"x":1}}',
        '{"a":[1]}',
        '{"a":{"x":true},"b":["y"]}',
        '{"a":["x"]',
        "NaN",
        "[" * 100000,
    ],
)
def test_parse_rejects_with_invalid_filter(query):
    with pytest.raises(InvalidParameter) as exc:
        parse(query)
    assert str(exc.value) == "invalid filter"


@pytest.mark.parametrize("query", [None, "", "null", "{}", " {} "])
def test_parse_empty(query):
    f = parse(query)
    assert len(f) == 0
    assert not f
    assert f.to_json() == ""


def test_null_values():
    f = parse('{"a":null,"b":{"x":null}}')
    assert f.contains("a") and f.get("a") == []
    assert f.get("b") == ["x"] and not f.exact_match("b", "x")
    assert sorted(parse('{"a":null,"c":[null,"y"]}').get("c")) == ["", "y"]
    with pytest.raises(InvalidParameter):  # one document cannot mix the two forms
        parse('{"b":{"x":null},"c":[null,"y"]}')


def test_false_values_are_listed_but_do_not_match():
    f = parse('{"status":{"running":false}}')
    assert f.get("status") == ["running"]
    assert not f.exact_match("status", "running")
    assert not f.exact_match("status", "paused")


# -------------------------------------------------------------------- mapping


def test_add_delete_len_keys():
    f = Filters()
    assert len(f) == 0 and f.keys() == []
    f.add("status", "running")
    f.add("status", "paused")
    f.add("status", "running")
    f.add("label", "a=b")
    assert len(f) == 2
    assert f.keys() == ["status", "label"]
    assert f.get("status") == ["running", "paused"]
    f.delete("status", "running")
    assert f.get("status") == ["paused"]
    f.delete("status", "paused")
    assert not f.contains("status")
    f.delete("nope", "x")
    f.delete("label", "nope")
    assert f.get("label") == ["a=b"]


def test_get_absent_is_empty_list():
    assert Filters().get("x") == []


def test_contains_and_in():
    f = Filters({"status": ["running"]})
    assert f.contains("status") and "status" in f
    assert not f.contains("label") and "label" not in f


def test_constructor_forms_and_equality():
    a = Filters({"k": ["v1", "v2"]})
    b = Filters({"k": {"v1": True, "v2": True}})
    assert a == b
    assert a != Filters({"k": ["v1"]})
    assert a.__eq__(object()) is NotImplemented
    assert "Filters(" in repr(a)


def test_clone_is_independent():
    a = Filters({"k": ["v"]})
    b = a.clone()
    b.add("k", "w")
    b.add("z", "1")
    assert a.get("k") == ["v"] and not a.contains("z")


def test_to_dict_is_a_copy():
    f = Filters({"k": ["v"]})
    d = f.to_dict()
    d["k"]["w"] = True
    assert f.get("k") == ["v"]


# --------------------------------------------------------------------- to_json


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, ""),
        ({"label": ["a=b"]}, '{"label":{"a=b":true}}'),
        (
            {"image.name": ["ubuntu*", "*untu"], "created": ["today"]},
            '{"created":{"today":true},"image.name":{"*untu":true,"ubuntu*":true}}',
        ),
        ({"k": {"v": False}}, '{"k":{"v":false}}'),
        ({"k": ["<a&b>"]}, '{"k":{"\\u003ca\\u0026b\\u003e":true}}'),
        ({"k": ["é"]}, '{"k":{"é":true}}'),
        ({"k": ["\u2028"]}, '{"k":{"\\u2028":true}}'),
        ({"k": ['"\n']}, '{"k":{"\\"\\n":true}}'),
        ({"k": []}, '{"k":{}}'),
    ],
)
def test_to_json_is_byte_identical_to_go(fields, text):
    assert Filters(fields).to_json() == text


@pytest.mark.parametrize(
    "fields",
    [
        {"label": ["a=b", "c"], "dangling": ["true"]},
        {"name": ["<script>"], "id": ["abc", "def"]},
        {"é": ["ü"]},
    ],
)
def test_to_json_round_trips(fields):
    f = Filters(fields)
    assert parse(f.to_json()) == f
    assert json.loads(f.to_json()) == f.to_dict()


# ------------------------------------------------------------------ validate


def test_validate():
    f = Filters({"status": ["running"]})
    f.validate({"status", "dangling"})
    f.validate(["status"])
    f.validate({"status": True})
    f.add("bogus", "running")
    with pytest.raises(InvalidParameter) as exc:
        f.validate({"status", "dangling"})
    assert str(exc.value) == "invalid filter 'bogus'"


def test_validate_empty_filters_always_pass():
    Filters().validate(set())


# ---------------------------------------------------------------- bool_value


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["true"], True),
        (["1"], True),
        (["false"], False),
        (["0"], False),
        (["true", "1"], True),
        (["false", "0"], False),
        (["true", "yes"], True),
    ],
)
def test_bool_value(values, expected):
    assert Filters({"dangling": values}).bool_value("dangling") is expected
    assert Filters({"dangling": values}).bool_value("dangling", default=not expected) is expected


@pytest.mark.parametrize("default", [True, False])
def test_bool_value_absent_gives_default(default):
    assert Filters().bool_value("dangling", default) is default
    assert Filters({"other": ["x"]}).bool_value("dangling", default=default) is default


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "invalid filter 'dangling'"),
        (["yes"], "invalid filter 'dangling=[yes]'"),
        (["true", "false"], "invalid filter 'dangling=[true false]'"),
        (["1", "0"], "invalid filter 'dangling=[1 0]'"),
        (["TRUE"], "invalid filter 'dangling=[TRUE]'"),
    ],
)
def test_bool_value_errors(values, message):
    with pytest.raises(InvalidParameter) as exc:
        Filters({"dangling": values}).bool_value("dangling")
    assert str(exc.value) == message


def test_bool_value_respects_stored_false():
    with pytest.raises(InvalidParameter):
        parse('{"dangling":{"true":false}}').bool_value("dangling")


# ------------------------------------------------------------------- matching


def test_exact_match():
    f = Filters()
    assert f.exact_match("status", "running")
    f.add("status", "running")
    f.add("status", "pause*")
    assert f.exact_match("status", "running")
    assert not f.exact_match("status", "paused")
    assert f.exact_match("other", "anything")
    assert Filters({"status": []}).exact_match("status", "x")


def test_unique_exact_match():
    f = Filters()
    assert f.unique_exact_match("status", "running")
    f.add("status", "running")
    assert f.unique_exact_match("status", "running")
    assert not f.unique_exact_match("status", "paused")
    f.add("status", "pause")
    assert not f.unique_exact_match("status", "running")


@pytest.mark.parametrize(
    ("source", "expected"),
    [("foo", True), ("foobar", True), ("barfoo", False), ("bar", False), ("", False)],
)
def test_fuzzy_match(source, expected):
    assert Filters({"container": ["foo"]}).fuzzy_match("container", source) is expected


def test_fuzzy_match_absent_key_matches():
    assert Filters().fuzzy_match("id", "abc")


@pytest.mark.parametrize(
    ("fields", "key", "expected"),
    [
        ({}, "field", True),
        ({"created": ["today"]}, "today", True),  # absent key
        ({"created": ["to*"]}, "created", True),
        ({"created": ["to(.*)"]}, "created", True),
        ({"created": ["tod"]}, "created", True),
        ({"created": ["anyting", "to*"]}, "created", True),
        ({"created": ["tomorrow"]}, "created", False),
        ({"created": ["to(day"]}, "created", False),  # invalid pattern: skipped
        ({"created": ["tom(.*)"]}, "created", False),
        ({"created": ["tom"]}, "created", False),
        ({"created": ["today1"], "labels": ["today"]}, "created", False),
    ],
)
def test_match_regexp(fields, key, expected):
    assert Filters(fields).match(key, "today") is expected


SOURCES = {"key1": "value1", "key2": "value2", "key3": "value3", "empty": ""}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, True),
        ([], True),
        (["key1"], True),
        (["key1=value1"], True),
        (["key1", "key2=value2"], True),
        (["key1=value1", "key2=value2", "key3"], True),
        (["empty"], True),
        (["empty="], True),
        (["key4"], False),
        (["key1=value3"], False),
        (["key1="], False),
        (["key1=value1", "key4"], False),
        (["key1=value1=x"], False),
        (["=value1"], False),
    ],
)
def test_match_kv(values, expected):
    f = Filters() if values is None else Filters({"label": values})
    assert f.match_kv("label", SOURCES) is expected


def test_match_kv_value_with_equals_sign():
    f = Filters({"label": ["k=a=b"]})
    assert f.match_kv("label", {"k": "a=b"})
    assert not f.match_kv("label", {"k": "a"})


@pytest.mark.parametrize("sources", [{}, None])
def test_match_kv_empty_sources(sources):
    assert Filters().match_kv("created", sources)
    assert not Filters({"created": ["today"]}).match_kv("created", sources)


@pytest.mark.parametrize(
    ("cli", "labels", "expected"),
    [
        ([], {}, True),
        ([], {"a": "1"}, True),
        (["label=a"], {"a": "1"}, True),
        (["label=a"], {}, False),
        (["label!=a"], {"a": "1"}, False),
        (["label!=a"], {"b": "1"}, True),
        (["label!=a"], {}, True),
        (["label!=a=1"], {"a": "1"}, False),
        (["label!=a=1"], {"a": "2"}, True),
        (["label=b", "label!=a"], {"a": "1", "b": "2"}, False),
        (["label=b", "label!=a"], {"b": "2"}, True),
        (["label!=a", "label!=c"], {"a": "1"}, True),  # negation needs every value to match
        (["label!=a", "label!=c"], {"a": "1", "c": "3"}, False),
    ],
)
def test_match_labels(cli, labels, expected):
    assert from_cli(cli).match_labels(labels) is expected


# ------------------------------------------------------------------- from_cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {}),
        ([""], {}),
        (["status=running"], {"status": ["running"]}),
        (["status=running", "status=paused"], {"status": ["running", "paused"]}),
        (["label=a=b"], {"label": ["a=b"]}),
        (["label!=a"], {"label!": ["a"]}),
        ([" Status = Running "], {"status": ["Running"]}),
        (["NAME=Foo"], {"name": ["Foo"]}),
        (["name="], {"name": [""]}),
        (["=x"], {"": ["x"]}),
        (
            ["created=today", "image.name=ubuntu*", "image.name=*untu"],
            {"created": ["today"], "image.name": ["ubuntu*", "*untu"]},
        ),
        (["dangling=true", ""], {"dangling": ["true"]}),
        (["label=k=v\t"], {"label": ["k=v"]}),
    ],
)
def test_from_cli(args, expected):
    assert from_cli(args) == Filters(expected)


@pytest.mark.parametrize("arg", ["anything", "status", " ", "label!"])
def test_from_cli_bad_format(arg):
    with pytest.raises(InvalidParameter) as exc:
        from_cli(["status=running", arg])
    assert str(exc.value) == "bad format of filter (expected name=value)"


def test_from_cli_to_json_is_what_docker_sends():
    f = from_cli(["label=com.example=1", "dangling=false"])
    assert f.to_json() == '{"dangling":{"false":true},"label":{"com.example=1":true}}'
    assert parse(f.to_json()) == f
