"""baleine.kube.selectors: label and field selectors."""

from __future__ import annotations

import pytest

from baleine.kube.selectors import SelectorError, field_selector, label_selector


def obj(labels: dict[str, str] | None = None, name: str = "a", namespace: str = "ns") -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "type": "Opaque"}


@pytest.mark.parametrize("selector,labels,expected", [
    ("", {}, True),
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "db"}, False),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("app", {"app": ""}, True),
    ("!app", {"app": "x"}, False),
    ("!app", {}, True),
    ("tier in (front, back)", {"tier": "back"}, True),
    ("tier in (front,back)", {"tier": "db"}, False),
    ("tier notin (front)", {}, True),
    ("app=web,tier in (a,b)", {"app": "web", "tier": "b"}, True),
    ("app=web,tier in (a,b)", {"app": "web", "tier": "c"}, False),
    ("example.com/app=x", {"example.com/app": "x"}, True),
])
def test_label_selector(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert label_selector(selector)(obj(labels)) is expected


@pytest.mark.parametrize("bad", ["a=(b", "tier in x", "!a=b"])
def test_label_selector_errors(bad: str) -> None:
    with pytest.raises(SelectorError):
        label_selector(bad)


def test_field_selector() -> None:
    assert field_selector("metadata.name=a")(obj())
    assert not field_selector("metadata.name!=a")(obj())
    assert field_selector("metadata.namespace==ns,metadata.name=a")(obj())
    assert not field_selector("metadata.namespace=other")(obj())
    assert field_selector("type=Opaque", frozenset({"type"}))(obj())
    with pytest.raises(SelectorError, match="field label not supported: spec.foo"):
        field_selector("spec.foo=1")
    with pytest.raises(SelectorError):
        field_selector("metadata.name")
