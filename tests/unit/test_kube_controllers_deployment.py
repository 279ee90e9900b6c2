"""The deployment controller's pure rules: how far a rolling update may go in one step."""

from __future__ import annotations

import datetime

from baleine.kube.controllers.deployment import (is_complete, made_progress, max_unavailable, new_rs_replicas,
                                                 proportional_sizes, rolling_scale_down, set_condition, timed_out)


def deploy(replicas: int, surge: int | str = "25%", unavailable: int | str = "25%", kind: str = "RollingUpdate",
           **spec: object) -> dict:
    strategy = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "d", "generation": 2},
            "spec": {"replicas": replicas, "strategy": strategy, **spec}}


def rs(name: str, replicas: int, available: int, created: str = "2026-12-04T09:00:00Z") -> dict:
    return {"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"replicas": replicas}, "status": {"replicas": replicas, "availableReplicas": available}}


def test_max_unavailable() -> None:
    assert max_unavailable(deploy(10)) == 2
    assert max_unavailable(deploy(3, 0, 0)) == 1
    assert max_unavailable(deploy(1, 1, 5)) == 1  # never more than the replicas
    assert max_unavailable(deploy(0)) == 0
    assert max_unavailable(deploy(4, kind="Recreate")) == 0


def test_new_replica_set_grows_within_surge() -> None:
    d = deploy(4, 1, 1)
    old, new = rs("old", 4, 4), rs("new", 0, 0)
    assert new_rs_replicas(d, [old, new], new) == 1          # 4 + 1 surge
    assert new_rs_replicas(d, [rs("old", 3, 3), rs("new", 1, 1)], rs("new", 1, 1)) == 2
    assert new_rs_replicas(d, [rs("old", 4, 4), rs("new", 1, 0)], rs("new", 1, 0)) == 1  # at 5 already
    assert new_rs_replicas(deploy(4, kind="Recreate"), [old, new], new) == 4


def test_old_replica_sets_shrink_within_unavailable() -> None:
    d = deploy(4, 1, 1)
    # 4 old available, 1 new not yet available: one old pod may go (4 + 1 - 3 - 1)
    assert rolling_scale_down(d, [rs("new", 1, 0), rs("old", 4, 4)], [rs("old", 4, 4)], rs("new", 1, 0)) \
        == {"old": 3}
    # the new one became available: one more old pod may go
    assert rolling_scale_down(d, [rs("new", 2, 1), rs("old", 3, 3)], [rs("old", 3, 3)], rs("new", 2, 1)) \
        == {"old": 2}
    # nothing available to spare
    assert rolling_scale_down(d, [rs("new", 2, 0), rs("old", 3, 3)], [rs("old", 3, 3)], rs("new", 2, 0)) == {}


def test_unhealthy_old_pods_go_first() -> None:
    d = deploy(4, 0, 1)
    old = rs("old", 4, 2)  # two old pods are not available: removing them costs nothing...
    # ...but one step removes no more than the pods above the minimum (4 - 3): the unhealthy one
    assert rolling_scale_down(d, [rs("new", 0, 0), old], [old], rs("new", 0, 0)) == {"old": 3}
    big = deploy(10, 0, 5)
    old = rs("old", 10, 7)
    assert rolling_scale_down(big, [old], [old], None) == {"old": 5}  # the 3 unhealthy, then 2 healthy



def sized(name: str, replicas: int, max_replicas: int, created: str) -> dict:
    r = rs(name, replicas, replicas, created)
    r["metadata"]["annotations"] = {"deployment.kubernetes.io/max-replicas": str(max_replicas)}
    return r


def test_proportional_scaling_mid_rollout() -> None:
    # Kubernetes' documented example: 10 replicas, maxSurge 3, rolling out (new 5, old 8) when scaled
    # to 15: 18 allowed, 5 more pods, 3 to the old ReplicaSet and 2 to the new one
    d = deploy(15, 3, 2)
    sizes = proportional_sizes(d, [sized("new", 5, 13, "2026-12-04T09:10:00Z"),
                                   sized("old", 8, 13, "2026-12-04T09:00:00Z")])
    assert sizes == {"new": 7, "old": 11}
    # scaled down to 5: 8 allowed, 5 fewer pods, most from the biggest
    sizes = proportional_sizes(deploy(5, 3, 2), [sized("new", 5, 13, "2026-12-04T09:10:00Z"),
                                                 sized("old", 8, 13, "2026-12-04T09:00:00Z")])
    assert sum(sizes.values()) == 8 and sizes["old"] < 8 and sizes["new"] < 5
    assert proportional_sizes(deploy(0), [sized("a", 3, 4, "2026-12-04T09:00:00Z")]) == {"a": 0}


def test_complete_and_progress() -> None:
    d = deploy(3)
    done = {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3, "observedGeneration": 2}
    assert is_complete(d, done)
    assert not is_complete(d, {**done, "observedGeneration": 1})
    assert not is_complete(d, {**done, "replicas": 4})
    assert made_progress({"replicas": 4, "updatedReplicas": 1}, {"replicas": 3, "updatedReplicas": 1})
    assert not made_progress({"replicas": 3, "updatedReplicas": 1}, {"replicas": 3, "updatedReplicas": 1})


def test_progress_deadline() -> None:
    now = datetime.datetime(2026, 12, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)
    d = deploy(3, progressDeadlineSeconds=60)
    status: dict = {}
    set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "m", "2026-12-04T09:58:00Z")
    assert timed_out(d, status, now)
    status = {}
    set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "m", "2026-12-04T09:59:30Z")
    assert not timed_out(d, status, now)
    set_condition(status, "Progressing", "True", "NewReplicaSetAvailable", "m", "2026-12-04T09:00:00Z")
    assert not timed_out(d, status, now)
    # same status and reason: nothing changes; same status, new reason: the transition time is kept
    before = dict(status["conditions"][0])
    set_condition(status, "Progressing", "True", "NewReplicaSetAvailable", "m", "2026-12-04T09:59:59Z")
    assert status["conditions"][0] == before
    set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "n", "2026-12-04T09:59:59Z")
    assert status["conditions"][0]["lastTransitionTime"] == "2026-12-04T09:59:30Z"  # True since then
