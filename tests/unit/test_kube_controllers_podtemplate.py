"""Pure rules the workload controllers share: the pod-template-hash, IntOrString rounding, pod ranking."""

from __future__ import annotations

import datetime

import pytest

from baleine.kube.controllers.podtemplate import (deletion_order, equal_ignore_hash, fenceposts, fnv32a,
                                                  is_available, pod_from_template, safe_encode, scaled_value,
                                                  selector_string, template_hash)

NOW = datetime.datetime(2026, 12, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)


def test_fnv32a_matches_go() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encoding_uses_no_vowels() -> None:
    assert safe_encode("1234567890") == "56789bcdf4"  # alphanums[b % 27], byte by byte
    assert set(template_hash({"spec": {"containers": [{"name": "c"}]}})) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_template_hash_is_stable_and_depends_on_the_template_and_collisions() -> None:
    t = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    same = {"spec": {"containers": [{"image": "x", "name": "c"}]}, "metadata": {"labels": {"app": "a"}}}
    assert template_hash(t) == template_hash(same)
    assert template_hash(t) != template_hash({**t, "spec": {"containers": [{"name": "c", "image": "y"}]}})
    assert template_hash(t, 1) != template_hash(t) and template_hash(t, 1) != template_hash(t, 2)


def test_equal_ignore_hash() -> None:
    a = {"metadata": {"labels": {"app": "a", "pod-template-hash": "abc"}, "creationTimestamp": None}, "spec": {}}
    assert equal_ignore_hash(a, {"metadata": {"labels": {"app": "a"}}, "spec": {}})
    assert not equal_ignore_hash(a, {"metadata": {"labels": {"app": "b"}}, "spec": {}})


@pytest.mark.parametrize(("value", "total", "up", "expected"), [
    (2, 10, True, 2), ("25%", 10, True, 3), ("25%", 10, False, 2), ("25%", 4, False, 1), ("0%", 5, True, 0),
    ("100%", 3, False, 3), ("3", 10, False, 3),
])
def test_scaled_value(value: int | str, total: int, up: bool, expected: int) -> None:
    assert scaled_value(value, total, up) == expected


def test_scaled_value_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        scaled_value("ten", 10, True)


def test_fenceposts_surge_up_unavailable_down_never_both_zero() -> None:
    assert fenceposts("25%", "25%", 10) == (3, 2)
    assert fenceposts("25%", "25%", 1) == (1, 0)
    assert fenceposts(0, 0, 3) == (0, 1)
    assert fenceposts("10%", "10%", 3) == (1, 0)


def pod(name: str, *, node: str = "n", phase: str = "Running", ready: bool = False, since: str = "",
        created: str = "2026-12-04T09:00:00Z", restarts: int = 0) -> dict:
    conds = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}]
    return {"metadata": {"name": name, "creationTimestamp": created}, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conds,
                       "containerStatuses": [{"restartCount": restarts}]}}


def test_deletion_order_follows_active_pods_ranking() -> None:
    pods = [
        pod("ready-old", ready=True, since="2026-12-04T09:00:00Z"),
        pod("ready-young", ready=True, since="2026-12-04T09:30:00Z"),
        pod("running", restarts=0),
        pod("crashing", restarts=4),
        pod("pending", phase="Pending"),
        pod("unscheduled", node="", phase="Pending"),
        pod("running-newer", created="2026-12-04T09:10:00Z"),
    ]
    order = [p["metadata"]["name"] for p in deletion_order(pods)]
    assert order == ["unscheduled", "pending", "crashing", "running-newer", "running", "ready-young", "ready-old"]


def test_availability_waits_min_ready_seconds() -> None:
    p = pod("p", ready=True, since="2026-12-04T09:59:55Z")
    assert is_available(p, 0, NOW) and is_available(p, 5, NOW) and not is_available(p, 10, NOW)
    assert not is_available(pod("q"), 0, NOW)


def test_pod_from_template_copies_labels_and_owner() -> None:
    t = {"metadata": {"labels": {"app": "a"}, "annotations": {"x": "y"}}, "spec": {"containers": [{"name": "c"}]}}
    ref = {"kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": True}
    p = pod_from_template(t, ref, "rs-")
    assert p["metadata"] == {"generateName": "rs-", "ownerReferences": [ref], "labels": {"app": "a"},
                             "annotations": {"x": "y"}}
    p["spec"]["containers"][0]["name"] = "changed"
    assert t["spec"]["containers"][0]["name"] == "c"


def test_selector_string() -> None:
    sel = {"matchLabels": {"b": "2", "a": "1"},
           "matchExpressions": [{"key": "t", "operator": "In", "values": ["y", "x"]},
                                {"key": "g", "operator": "DoesNotExist"}]}
    assert selector_string(sel) == "a=1,b=2,t in (x,y),!g"
