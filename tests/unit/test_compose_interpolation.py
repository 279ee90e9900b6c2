"""Compose interpolation (baleine.compose.interpolation): every form the spec lists."""

from __future__ import annotations

import pytest

from baleine.compose.errors import ComposeError
from baleine.compose.interpolation import InterpolationError, interpolate, substitute
from baleine.compose.yamlfile import RESET, Override

ENV = {"SET": "value", "EMPTY": "", "NUM": "42", "NESTED": "inner", "B": "bee", "PORT": "8080", "TRUE": "true",
       "X_Y": "xy", "_U": "u", "lower": "low"}


def sub(template: str, env: dict[str, str] | None = None) -> str:
    env = ENV if env is None else env
    return substitute(template, env.get)


@pytest.mark.parametrize("template,expected", [
    ("plain", "plain"),
    ("", ""),
    ("$SET", "value"),
    ("${SET}", "value"),
    ("a${SET}b", "avalueb"),
    ("a$SET-b", "avalue-b"),
    ("$SET$SET", "valuevalue"),
    ("${SET}${NUM}", "value42"),
    ("$UNSET", ""),
    ("${UNSET}", ""),
    ("x${UNSET}y", "xy"),
    ("$$", "$"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("$$$SET", "$value"),
    ("a$$b", "a$b"),
    ("$", "$"),
    ("a $ b", "a $ b"),
    ("cost: 5$", "cost: 5$"),
    ("$1", "$1"),
    ("$-x", "$-x"),
    ("$X_Y", "xy"),
    ("$_U", "u"),
    ("$lower", "low"),
    ("${X_Y}z", "xyz"),
    ("$SET.suffix", "value.suffix"),
    ("$SET/path", "value/path"),
    # :- unset or empty
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${SET:-default}", "value"),
    ("${UNSET:-}", ""),
    ("${UNSET:-a b c}", "a b c"),
    ("${UNSET:-with:colon}", "with:colon"),
    ("${UNSET:-with-dash}", "with-dash"),
    # - unset only
    ("${UNSET-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${SET-default}", "value"),
    # :+ set and non-empty
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${UNSET:+alt}", ""),
    # + set
    ("${SET+alt}", "alt"),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    # ? forms when satisfied
    ("${SET:?must be set}", "value"),
    ("${SET?must be set}", "value"),
    ("${EMPTY?must be set}", ""),
    # nesting
    ("${UNSET:-${SET}}", "value"),
    ("${UNSET:-${UNSET2:-deep}}", "deep"),
    ("${UNSET:-${UNSET2:-${NESTED}}}", "inner"),
    ("${UNSET:-pre-${SET}-post}", "pre-value-post"),
    ("${SET:+${NESTED}}", "inner"),
    ("${UNSET:-$SET}", "value"),
    ("${UNSET:-$$}", "$"),
    ("${SET:-${UNSET:?never evaluated}}", "value"),
    ("${UNSET-${B}}x${NUM}", "beex42"),
    ("${UNSET:-{braces}}", "{braces}"),
    # in context
    ("postgres://${USER_UNSET:-app}:${PASS_UNSET:-secret}@db:5432/x", "postgres://app:secret@db:5432/x"),
    ("127.0.0.1:${PORT}:80", "127.0.0.1:8080:80"),
    ("${PORT:-80}:80", "8080:80"),
])
def test_substitute(template: str, expected: str) -> None:
    assert sub(template) == expected


@pytest.mark.parametrize("template,message", [
    ("${UNSET:?must be set}", "required variable UNSET is missing a value: must be set"),
    ("${EMPTY:?must be set}", "required variable EMPTY is missing a value: must be set"),
    ("${UNSET?must be set}", "required variable UNSET is missing a value: must be set"),
    ("${UNSET:?}", "required variable UNSET is missing a value"),
    ("${UNSET?}", "required variable UNSET is missing a value"),
    ("${UNSET:?${SET} needed}", "required variable UNSET is missing a value: value needed"),
    ("${UNSET:-${INNER:?inner missing}}", "required variable INNER is missing a value: inner missing"),
])
def test_required(template: str, message: str) -> None:
    with pytest.raises(InterpolationError) as exc:
        sub(template)
    assert str(exc.value) == message


@pytest.mark.parametrize("template", [
    "${", "${SET", "${}", "${1}", "${-x}", "${SET:x}", "${SET!}", "${ SET}", "a ${UNCLOSED:-x", "${SET:}",
    "${=x}", "${SET#x}",
])
def test_invalid(template: str) -> None:
    with pytest.raises(InterpolationError) as exc:
        sub(template)
    assert "invalid interpolation format" in str(exc.value)


def test_unset_warnings() -> None:
    seen: list[str] = []
    assert substitute("$A ${BB} ${C:-x} ${SET}", ENV.get, seen.append) == "  x value"
    assert seen == ["A", "BB"]


def test_defaults_do_not_warn() -> None:
    seen: list[str] = []
    substitute("${A-} ${B:+x} ${C+y}", {}.get, seen.append)
    assert seen == []


def test_interpolate_tree() -> None:
    data = {"services": {"web": {"image": "${IMG:-busybox}:${TAG-latest}", "ports": ["${PORT}:80"],
                                 "environment": {"A": "$SET", "KEEP": 3, "B": None, "${NOT_A_KEY}": "x"}}}}
    out = interpolate(data, ENV)
    web = out["services"]["web"]
    assert web["image"] == "busybox:latest"
    assert web["ports"] == ["8080:80"]
    assert web["environment"] == {"A": "value", "KEEP": 3, "B": None, "${NOT_A_KEY}": "x"}
    assert data["services"]["web"]["image"].startswith("${")  # the input is untouched


def test_interpolate_error_names_file_and_path() -> None:
    data = {"services": {"web": {"image": "x", "ports": ["80", "${NOPE:?need a port}"]}}}
    with pytest.raises(ComposeError) as exc:
        interpolate(data, {}, "compose.yaml")
    assert exc.value.file == "compose.yaml"
    assert exc.value.path == "services.web.ports[1]"
    assert str(exc.value) == "compose.yaml: services.web.ports[1]: required variable NOPE is missing a value: need a port"


def test_interpolate_keeps_tags() -> None:
    data = {"services": {"web": {"ports": Override(["${PORT}:80"]), "command": RESET}}}
    out = interpolate(data, ENV)
    assert out["services"]["web"]["ports"] == Override(["8080:80"])
    assert out["services"]["web"]["command"] is RESET


@pytest.mark.parametrize("path,value,expected", [
    (("services", "w", "deploy", "replicas"), "${NUM}", 42),
    (("services", "w", "scale"), "${NUM}", 42),
    (("services", "w", "read_only"), "${TRUE}", True),
    (("services", "w", "init"), "${UNSET:-false}", False),
    (("services", "w", "cpus"), "${UNSET:-0.5}", 0.5),
    (("services", "w", "healthcheck", "retries"), "${NUM}", 42),
    (("services", "w", "image"), "${NUM}", "42"),
    (("volumes", "v", "external"), "${TRUE}", True),
    (("networks", "n", "internal"), "${UNSET:-yes}", True),
    (("services", "w", "ports", 0, "target"), "${PORT}", 8080),
    (("services", "w", "deploy", "replicas"), "${UNSET:-many}", "many"),
])
def test_cast_after_substitution(path: tuple, value: str, expected: object) -> None:
    data: dict = {}
    node = data
    for i, key in enumerate(path[:-1]):
        nxt = path[i + 1]
        child: object = [] if isinstance(nxt, int) else {}
        if isinstance(node, list):
            node.append(child)
        else:
            node[key] = child
        node = child  # type: ignore[assignment]
    if isinstance(node, list):
        node.append(value)
    else:
        node[path[-1]] = value
    out = interpolate(data, ENV)
    for key in path:
        out = out[key]
    assert out == expected and type(out) is type(expected)


def test_literal_strings_are_not_cast() -> None:
    out = interpolate({"services": {"w": {"read_only": "true"}}}, ENV)
    assert out["services"]["w"]["read_only"] == "true"
