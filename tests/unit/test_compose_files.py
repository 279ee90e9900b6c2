"""Compose YAML reading (baleine.compose.yamlfile) and .env files (baleine.compose.dotenv)."""

from __future__ import annotations

import pytest

from baleine.compose import dotenv, yamlfile
from baleine.compose.errors import ComposeError
from baleine.compose.yamlfile import RESET, Override


def load(text: str):  # noqa: ANN201
    return yamlfile.load(text, "compose.yaml")[0]


@pytest.mark.parametrize("scalar,expected", [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("Yes", "Yes"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False),
    ("22:22", "22:22"), ("8080:80", "8080:80"), ("1:20", "1:20"), ("190:20:30", "190:20:30"),
    ("80", 80), ("-1", -1), ("+5", 5), ("0", 0), ("0x1f", 31), ("0o17", 15), ("0755", 493), ("08", 8),
    ("1.5", 1.5), ("1e3", 1000.0), (".5", 0.5), (".inf", float("inf")), ("-.inf", float("-inf")),
    ("~", None), ("null", None), ("Null", None), ("", None),
    ("2001-12-14", "2001-12-14"), ("1_000", "1_000"), ("0b101", "0b101"), ("12:30:00", "12:30:00"),
    ("'80'", "80"), ('"true"', "true"), ("127.0.0.1:8080:80/udp", "127.0.0.1:8080:80/udp"),
])
def test_yaml_12_scalars(scalar: str, expected: object) -> None:
    assert load(f"v: {scalar}\n")["v"] == expected


def test_nan() -> None:
    value = load("v: .nan\n")["v"]
    assert value != value


def test_tags() -> None:
    data = load("a: !reset []\nb: !reset null\nc: !override [1, 2]\nd: !override {x: 1}\ne: !override 8080:80\n"
                "f: !reset\n")
    assert data["a"] is RESET and data["b"] is RESET and data["f"] is RESET
    assert data["c"] == Override([1, 2])
    assert data["d"] == Override({"x": 1})
    assert data["e"] == Override("8080:80")


def test_positions() -> None:
    data, pos = yamlfile.load("services:\n  web:\n    image: x\n    ports:\n      - 80\n      - 81\n", "c.yml")
    assert pos[("services",)] == 1
    assert pos[("services", "web")] == 2
    assert pos[("services", "web", "image")] == 3
    assert pos[("services", "web", "ports", 1)] == 6


def test_anchors_and_merge_keys() -> None:
    data = load("x-common: &common\n  image: busybox\n  restart: always\nservices:\n"
                "  a:\n    <<: *common\n  b:\n    <<: *common\n    restart: 'no'\n")
    assert data["services"]["a"] == {"image": "busybox", "restart": "always"}
    assert data["services"]["b"] == {"image": "busybox", "restart": "no"}


@pytest.mark.parametrize("text,fragment", [
    ("services:\n  web: {\n", "yaml: line"),
    ("services:\n  web:\n    image: [x\n", "yaml: line"),
    ("a: 1\na: 2\n", 'line 2: mapping key "a" already defined at line 1'),
    ("services:\n  web:\n    image: x\n  web:\n    image: y\n", 'mapping key "web" already defined at line 2'),
    ("a: b: c\n", "mapping values are not allowed"),
    ("\tservices: {}\n", "yaml: line 1"),
    ("a: *missing\n", "found undefined alias"),
    ("a: !unknown x\n", "could not determine a constructor"),
    ("- a\n b: c\n", "yaml: line"),
])
def test_yaml_errors(text: str, fragment: str) -> None:
    with pytest.raises(ComposeError) as exc:
        yamlfile.load(text, "compose.yaml")
    assert str(exc.value).startswith("compose.yaml: ")
    assert fragment in str(exc.value)


def test_empty_document() -> None:
    assert yamlfile.load("", "c.yml")[0] is None
    assert yamlfile.load("# only a comment\n", "c.yml")[0] is None


def test_strip_tags() -> None:
    data = {"a": RESET, "b": Override([1]), "c": [RESET, 2], "d": {"e": Override({"f": RESET})}}
    assert yamlfile.strip_tags(data) == {"b": [1], "c": [2], "d": {"e": {}}}


def test_dump_round_trip() -> None:
    model = {"name": "p", "services": {"web": {"command": ["a", "yes", "8080:80"], "environment": {"A": "1"},
                                               "ports": [{"mode": "ingress", "target": 80, "published": "8080"}],
                                               "healthcheck": {"test": ["CMD-SHELL", "a && b"]},
                                               "labels": {"x": "multi\nline"}}}}
    text = yamlfile.dump(model)
    assert "      - mode: ingress\n" in text  # sequences indented under their key
    assert list(model["services"]["web"]) == ["command", "environment", "ports", "healthcheck", "labels"]
    assert yamlfile.load(text, "x")[0] == model


# -- dotenv ----------------------------------------------------------------------------------------


def env(text: str, lookup: dict[str, str] | None = None) -> dict[str, str]:
    return dotenv.parse(text, (lookup or {}).get)


@pytest.mark.parametrize("text,expected", [
    ("A=1", {"A": "1"}),
    ("A=1\nB=2\n", {"A": "1", "B": "2"}),
    ("A = 1 ", {"A": "1"}),
    ("export A=1", {"A": "1"}),
    ("export   A=1", {"A": "1"}),
    ("A: 1", {"A": "1"}),
    ("A=", {"A": ""}),
    ("A=''", {"A": ""}),
    ('A=""', {"A": ""}),
    ("# comment\nA=1\n\n  # indented comment\nB=2", {"A": "1", "B": "2"}),
    ("A=1 # comment", {"A": "1"}),
    ("A=1#not a comment", {"A": "1#not a comment"}),
    ("A='1 # kept'", {"A": "1 # kept"}),
    ('A="1 # kept"', {"A": "1 # kept"}),
    ("A='quoted' # comment", {"A": "quoted"}),
    ("A='$B literal'", {"A": "$B literal"}),
    ('A="line1\\nline2"', {"A": "line1\nline2"}),
    ("A='line1\\nline2'", {"A": "line1\\nline2"}),
    ('A="say \\"hi\\""', {"A": 'say "hi"'}),
    ('A="multi\nline"', {"A": "multi\nline"}),
    ("A='multi\nline'\nB=2", {"A": "multi\nline", "B": "2"}),
    ("A=x=y", {"A": "x=y"}),
    ("A=postgres://u:p@h/db", {"A": "postgres://u:p@h/db"}),
    ("A=1\nB=${A}2", {"A": "1", "B": "12"}),
    ('A=1\nB="$A-${A}"', {"A": "1", "B": "1-1"}),
    ("B=${UNSET:-fallback}", {"B": "fallback"}),
    ("A=1\nA=2", {"A": "2"}),
    ("A.B-C=1", {"A.B-C": "1"}),
    ("A=\"dollar \\$B\"", {"A": "dollar $B"}),
    ("\ufeffA=1", {"A": "1"}),
    ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    ("A=  spaced  value  ", {"A": "spaced  value"}),
])
def test_dotenv(text: str, expected: dict[str, str]) -> None:
    assert env(text) == expected


def test_dotenv_lookup_first_then_file() -> None:
    assert env("A=file\nB=$A", {"A": "shell"}) == {"A": "file", "B": "shell"}


def test_dotenv_bare_key_takes_lookup() -> None:
    assert env("HOME_X\nOTHER", {"HOME_X": "/root"}) == {"HOME_X": "/root"}


@pytest.mark.parametrize("text", ["A B=1", "=1", "A='unterminated", 'A="unterminated\n', "A=${"])
def test_dotenv_errors(text: str) -> None:
    with pytest.raises(ComposeError) as exc:
        dotenv.parse(text, None, "x.env")
    assert "x.env" in str(exc.value) and "line 1" in str(exc.value)


def test_dotenv_read_missing(tmp_path) -> None:
    with pytest.raises(ComposeError):
        dotenv.read(str(tmp_path / "missing.env"))
