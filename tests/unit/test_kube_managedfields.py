"""baleine.kube.managedfields: what server-side apply owns and releases."""

from __future__ import annotations

from baleine.kube.managedfields import fields_of, leaves, released, remove


def test_fields_of_an_applied_configuration() -> None:
    applied = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "n", "labels": {"app": "x"}},
               "data": {"a": "1", "b": "2"}, "spec": {"ports": [{"port": 80}]}}
    assert fields_of(applied) == {"f:metadata": {"f:labels": {"f:app": {}}}, "f:data": {"f:a": {}, "f:b": {}},
                                  "f:spec": {"f:ports": {}}}
    assert fields_of({"metadata": {"name": "c"}, "data": {"a": "1"}}) == {"f:data": {"f:a": {}}}
    assert leaves(fields_of(applied)) == {("metadata", "labels", "app"), ("data", "a"), ("data", "b"),
                                          ("spec", "ports")}


def test_released_fields_spare_other_managers() -> None:
    before = fields_of({"data": {"a": "1", "b": "2", "c": "3"}, "spec": {"x": 1}})
    after = fields_of({"data": {"a": "1"}})
    other = fields_of({"data": {"c": "9"}})
    assert released(before, after, [other]) == [("data", "b"), ("spec", "x")]
    obj = {"data": {"a": "1", "b": "2", "c": "3"}, "spec": {"x": 1, "y": 2}}
    remove(obj, released(before, after, [other]))
    assert obj == {"data": {"a": "1", "c": "3"}, "spec": {"y": 2}}


def test_a_parent_owned_elsewhere_keeps_its_children() -> None:
    before = fields_of({"spec": {"template": {"a": 1}}})
    assert released(before, {}, [fields_of({"spec": {"template": {}}})]) == []
