"""baleine.kube.patch: JSON merge patch, JSON patch, strategic merge patch."""

from __future__ import annotations

import pytest

from baleine.kube import openapi
from baleine.kube.patch import PatchError, json_patch, merge_patch, strategic_merge

DEFS = {
    "Pod": {"properties": {"metadata": {"$ref": "#/$defs/Meta"}, "spec": {"$ref": "#/$defs/Spec"}}},
    "Meta": {"properties": {"labels": {"type": "object", "additionalProperties": {"type": "string"}},
                            "finalizers": {"type": "array", "items": {"type": "string"},
                                           "x-kubernetes-patch-strategy": "merge"}}},
    "Spec": {"properties": {
        "containers": {"type": "array", "items": {"$ref": "#/$defs/Container"},
                       "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"},
        "args": {"type": "array", "items": {"type": "string"}}}},
    "Container": {"properties": {"name": {"type": "string"}, "image": {"type": "string"},
                                 "env": {"type": "array", "items": {"type": "object"},
                                         "x-kubernetes-patch-merge-key": "name",
                                         "x-kubernetes-patch-strategy": "merge"}}},
}
POD = {"$ref": "#/$defs/Pod"}


def test_merge_patch_rfc7386_examples() -> None:
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}


def test_merge_patch_does_not_mutate_its_inputs() -> None:
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2]}, "c": "d"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/1", "value": 9},
                           {"op": "add", "path": "/a/b/-", "value": 3},
                           {"op": "replace", "path": "/c", "value": "e"},
                           {"op": "copy", "from": "/c", "path": "/f"},
                           {"op": "move", "from": "/f", "path": "/g"},
                           {"op": "remove", "path": "/a/b/0"},
                           {"op": "test", "path": "/g", "value": "e"},
                           {"op": "add", "path": "/x~1y", "value": 1}])
    assert out == {"a": {"b": [9, 2, 3]}, "c": "e", "g": "e", "x/y": 1}
    assert doc == {"a": {"b": [1, 2]}, "c": "d"}


@pytest.mark.parametrize("ops", [
    [{"op": "remove", "path": "/missing"}],
    [{"op": "test", "path": "/a", "value": 2}],
    [{"op": "replace", "path": "/a"}],
    [{"op": "frobnicate", "path": "/a"}],
    [{"op": "add", "path": "/l/7", "value": 1}],
    {"op": "add"},
])
def test_json_patch_errors(ops: object) -> None:
    with pytest.raises(PatchError):
        json_patch({"a": 1, "l": []}, ops)


def test_strategic_merge_merges_lists_by_their_merge_key() -> None:
    live = {"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}],
                     "args": ["1", "2"]}}
    patch = {"spec": {"containers": [{"name": "b", "image": "y:2"}, {"name": "c", "image": "z"}],
                      "args": ["3"]}}
    out = strategic_merge(live, patch, POD, DEFS)
    assert out["spec"]["containers"] == [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"},
                                         {"name": "c", "image": "z"}]
    assert out["spec"]["args"] == ["3"]  # no patch strategy: replaced


def test_strategic_merge_directives() -> None:
    live = {"metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]},
            "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}
    patch = {"metadata": {"labels": {"a": None}, "$deleteFromPrimitiveList/finalizers": ["x"]},
             "spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "a", "$patch": "delete"}]}}
    out = strategic_merge(live, patch, POD, DEFS)
    assert out["metadata"] == {"labels": {"b": "2"}, "finalizers": ["y"]}
    assert out["spec"]["containers"] == [{"name": "b", "image": "2"}]


def test_strategic_merge_replace_and_retain_keys() -> None:
    live = {"spec": {"containers": [{"name": "a", "image": "1", "env": [{"name": "E", "value": "1"}]}]}}
    patch = {"spec": {"containers": [{"name": "a", "env": [{"name": "F", "value": "2"}]}]}}
    out = strategic_merge(live, patch, POD, DEFS)
    assert out["spec"]["containers"][0]["env"] == [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]
    out = strategic_merge(live, {"spec": {"$patch": "replace", "args": ["z"]}}, POD, DEFS)
    assert out["spec"] == {"args": ["z"]}
    out = strategic_merge({"a": 1, "b": 2}, {"$retainKeys": ["b", "c"], "c": 3}, {}, DEFS)
    assert out == {"b": 2, "c": 3}


def test_strategic_merge_needs_the_merge_key() -> None:
    with pytest.raises(PatchError, match="merge key"):
        strategic_merge({"spec": {"containers": []}}, {"spec": {"containers": [{"image": "x"}]}}, POD, DEFS)


def test_strategic_merge_with_the_real_deployment_schema() -> None:
    defs = openapi.definitions()
    schema = {"$ref": "#/$defs/io.k8s.api.apps.v1.Deployment"}
    live = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1",
                                                           "ports": [{"containerPort": 80}]}]}}}}
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"},
                                                           {"name": "side", "image": "busybox"}]}}}}
    out = strategic_merge(live, patch, schema, defs)
    containers = out["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "web", "image": "nginx:2", "ports": [{"containerPort": 80}]}
    assert containers[1]["name"] == "side"
