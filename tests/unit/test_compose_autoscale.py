"""x-baleine-autoscale: the extension's checks at load, the label compose writes and
the engine reads back, the replica count ``up`` starts, and a clone's create body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baleine.compose import balance, loader
from baleine.compose.errors import ComposeError
from baleine.engine.containers.records import Container
from baleine.engine.networks.autoscaler import GroupState, clone_body, member_name, number_of, rolling, settling
from baleine.engine.networks.balancer import Group
from baleine.engine.networks.autoscalerules import (LABEL_AUTOSCALE, AutoscaleSpec, SpecError, check_extension,
                                                    format_spec, parse_spec)
from baleine.rules import autoscaling as algo

GOOD = """services:
  web:
    image: busybox
    deploy:
      replicas: {replicas}
      resources:
        {part}:
          cpus: "0.25"
    x-baleine-autoscale: {ext}
"""


def load(tmp_path: Path, ext: str, replicas: int = 1, part: str = "reservations"):
    (tmp_path / "compose.yaml").write_text(GOOD.format(ext=ext, replicas=replicas, part=part))
    return loader.load(loader.Options(files=[str(tmp_path / "compose.yaml")], project_name="p"))


def test_label_round_trip_and_rules(tmp_path: Path) -> None:
    p = load(tmp_path, "{min: 2, max: 5, cpu: 60, behavior: {scaleDown: {stabilizationWindowSeconds: 3,"
                       " policies: [{type: Pods, value: 1, periodSeconds: 10}]}}}")
    labels = balance.labels(p, "web")
    spec = parse_spec(labels[LABEL_AUTOSCALE])
    assert spec == AutoscaleSpec(2, 5, 60, 250.0, {"scaleDown": {
        "stabilizationWindowSeconds": 3, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 10}]}})
    assert format_spec(spec) == labels[LABEL_AUTOSCALE]
    up, down = spec.rules()
    assert up == algo.DEFAULT_SCALE_UP
    assert down == algo.ScalingRules(3, "Max", (algo.Policy("Pods", 1, 10),))
    # an autoscaled service is balanced even with one replica and no ports; up starts min
    assert balance.is_balanced(p.services["web"], 1)
    assert p.scale("web") == 2
    assert not balance.stale({**labels, "other": "x"}, p, "web", 2)


def test_initial_scale_clamped(tmp_path: Path) -> None:
    assert load(tmp_path, "{max: 3}", replicas=7).scale("web") == 3
    p = load(tmp_path, "{max: 3}", replicas=2, part="limits")
    assert p.scale("web") == 2
    assert parse_spec(balance.labels(p, "web")[LABEL_AUTOSCALE]).cpu == 80  # an HPA without metrics: 80 %


@pytest.mark.parametrize("ext,path,words", [
    ("{min: 0, max: 3}", "services.web.x-baleine-autoscale.min", "greater than or equal to 1"),
    ("{min: 4, max: 3}", "services.web.x-baleine-autoscale.max", "greater than or equal to min"),
    ("{min: 1}", "services.web.x-baleine-autoscale.max", "required"),
    ("{max: 3, cpu: 1001}", "services.web.x-baleine-autoscale.cpu", "between 1 and 1000"),
    ("{max: 3, cpu: '50%'}", "services.web.x-baleine-autoscale.cpu", "integer"),
    ("{max: 3, target: 50}", "services.web.x-baleine-autoscale", "unknown field 'target'"),
    ("{max: 3, behavior: {scaleUp: {selectPolicy: Fastest}}}",
     "services.web.x-baleine-autoscale.behavior.scaleUp.selectPolicy", "supported values"),
    ("{max: 3, behavior: {scaleDown: {stabilizationWindowSeconds: 3601}}}",
     "services.web.x-baleine-autoscale.behavior.scaleDown.stabilizationWindowSeconds", "between 0 and 3600"),
    ("{max: 3, behavior: {scaleDown: {policies: [{type: Nodes, value: 1, periodSeconds: 15}]}}}",
     "services.web.x-baleine-autoscale.behavior.scaleDown.policies[0].type", "Pods"),
    ("{max: 3, behavior: {scaleUp: {policies: [{type: Pods, value: 0, periodSeconds: 15}]}}}",
     "services.web.x-baleine-autoscale.behavior.scaleUp.policies[0].value", "greater than or equal to 1"),
    ("{max: 3, behavior: {scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 1801}]}}}",
     "services.web.x-baleine-autoscale.behavior.scaleUp.policies[0].periodSeconds", "between 1 and 1800"),
    ("{max: 3, behavior: {scaleUp: {policies: []}}}",
     "services.web.x-baleine-autoscale.behavior.scaleUp.policies", "at least one Policy"),
])
def test_invalid_extension(tmp_path: Path, ext: str, path: str, words: str) -> None:
    with pytest.raises(ComposeError) as info:
        load(tmp_path, ext)
    assert path in str(info.value) and words in str(info.value), str(info.value)


def test_request_required(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n"
                                           "    x-baleine-autoscale: {max: 3}\n")
    with pytest.raises(ComposeError) as info:
        loader.load(loader.Options(files=[str(tmp_path / "compose.yaml")], project_name="p"))
    assert "deploy.resources.reservations.cpus" in str(info.value)


def test_bad_labels() -> None:
    assert parse_spec("") is None
    for text in ("{", "[]", json.dumps({"max": 2}), json.dumps({"max": 0, "request_millicpu": 100})):
        with pytest.raises(SpecError):
            parse_spec(text)
    with pytest.raises(SpecError):
        check_extension({"max": 2}, 0)


def test_clone_body() -> None:
    cid = "ab" * 32
    c = Container(doc={
        "Id": cid, "Name": "/p-web-1", "State": {},
        "Config": {"Hostname": cid[:12], "Image": "busybox", "MacAddress": "02:42:ac:11:00:02", "Cmd": ["sleep"],
                   "Labels": {"com.docker.compose.project": "p", "com.docker.compose.service": "web",
                              "com.docker.compose.container-number": "1", "com.docker.compose.replace": "x",
                              LABEL_AUTOSCALE: "{}"}},
        "HostConfig": {"NetworkMode": "p_default", "NanoCpus": 0},
        "NetworkSettings": {"Networks": {"p_default": {"Aliases": ["p-web-1", "web", cid[:12]],
                                                      "IPAddress": "10.1.0.2", "MacAddress": "02:42"}}}})
    body = clone_body(c, 4)
    assert body["Hostname"] == "" and "MacAddress" not in body and body["Cmd"] == ["sleep"]
    assert body["Labels"]["com.docker.compose.container-number"] == "4"
    assert "com.docker.compose.replace" not in body["Labels"] and LABEL_AUTOSCALE in body["Labels"]
    assert body["HostConfig"] == {"NetworkMode": "p_default", "NanoCpus": 0}
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"p_default": {"Aliases": ["web"]}}}
    assert c.config["Labels"]["com.docker.compose.container-number"] == "1"  # the model is left alone
    assert member_name(c, "p_web", 4) == "p-web-4" and number_of(c) == 1


def test_sync_period_flag() -> None:
    import argparse

    from baleine.daemon.main import _period

    assert (_period("1s"), _period("1.5"), _period("250ms")) == (1.0, 1.5, 0.25)
    for bad in ("0", "-1s", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            _period(bad)


def _member(cid: str, config_hash: str) -> Container:
    return Container(doc={"Id": cid, "Name": f"/p-web-{cid}", "State": {},
                          "Config": {"Labels": {"com.docker.compose.config-hash": config_hash}}})


def test_a_group_with_two_configurations_is_held() -> None:
    g = Group("p_web", containers=[_member("a", "h1"), _member("b", "h1")])
    state = GroupState()
    assert not rolling(g, state)
    g.containers.append(_member("c", "h2"))  # a rollout's new member
    assert rolling(g, state)
    state.removing.add("c")  # being removed: no longer counted
    assert not rolling(g, state)


def test_a_group_just_made_is_settling() -> None:
    c = _member("a", "h1")
    c.doc["Created"] = "2026-12-04T16:00:00.123456789Z"
    g = Group("p_web", containers=[c])
    t0 = 1796400000.123  # 2026-12-04T16:00:00.123Z
    assert settling(g, 5, now=t0 + 4)
    assert not settling(g, 5, now=t0 + 6)
    assert not settling(Group("p_web", containers=[_member("b", "h1")]), 5)  # no creation time: not held
