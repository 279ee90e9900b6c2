"""The create request's checks at the door (engine/containers/createchecks.py) and
moby's Env merge: pure logic, dockerd's wording."""

from __future__ import annotations

from typing import Any

import pytest

from baleine.engine.containers.createchecks import (check_create_body, check_log_opts, check_net_mode,
                                                    check_pid_mode, check_platform, check_security_opts,
                                                    create_warnings, parse_platform)
from baleine.engine.containers.records import merge_env
from baleine.rules.errors import InvalidParameter, NotFound


@pytest.mark.parametrize("body,message", [
    ({"Labels": {"a": 1}}, "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Labels "
                           "of type string"),
    ({"HostConfig": {"LogConfig": {"Config": {"max-size": True}}}},
     "json: cannot unmarshal bool into Go struct field LogConfig.HostConfig.LogConfig.Config of type string"),
    ({"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": "1"}]}},
     "json: cannot unmarshal string into Go struct field Ulimit.HostConfig.Ulimits.Soft of type int64"),
    ({"HostConfig": {"Memory": 1 << 63}},
     f"json: cannot unmarshal number {1 << 63} into Go struct field HostConfig.HostConfig.Memory of type int64"),
    ({"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": 80}]}}},
     "json: cannot unmarshal number into Go struct field PortBinding.HostConfig.PortBindings.HostPort "
     "of type string"),
    ({"ExposedPorts": {"http/tcp": {}}}, 'invalid port specification: "http"'),
    ({"ExposedPorts": {"80/icmp": {}}}, "invalid proto: icmp"),
    ({"MacAddress": "02:42:ac:11:00"}, "invalid MAC address 02:42:ac:11:00"),
    ({"HostConfig": {"ShmSize": -1}}, "SHM size can not be less than 0"),
])
def test_create_body_refusals(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        check_create_body(body)
    assert str(err.value) == message


def test_create_body_accepts_docker_shapes() -> None:
    body: dict[str, Any] = {"Labels": {"a": "b", "null": None}}
    check_create_body(body)
    assert body["Labels"] == {"a": "b", "null": ""}  # Go decodes null into a string as ""
    check_create_body({"Labels": {"a": "b"}, "Volumes": {"/v": {}}, "ExposedPorts": {"80/tcp": {}, "1000-1001/udp": {}},
                       "MacAddress": "02-42-AC-11-00-02",
                       "HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 2}], "Memory": 0,
                                      "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": ""}, None]},
                                      "Sysctls": None, "LogConfig": {"Type": "json-file", "Config": None}}})


def test_net_mode_conflicts_and_warnings() -> None:
    with pytest.raises(InvalidParameter, match="port publishing and the container type network mode"):
        check_net_mode({"HostConfig": {"NetworkMode": "container:x", "PublishAllPorts": True}})
    with pytest.raises(InvalidParameter, match="port exposing"):
        check_net_mode({"ExposedPorts": {"80/tcp": {}}, "HostConfig": {"NetworkMode": "container:x"}})
    check_net_mode({"ExposedPorts": {"80/tcp": {}}, "HostConfig": {"NetworkMode": "bridge"}})
    assert create_warnings({"HostConfig": {"NetworkMode": "host", "PortBindings": {"80/tcp": []}}}) == [
        "Published ports are discarded when using host network mode"]
    assert create_warnings({"HostConfig": {"NetworkMode": "bridge", "PortBindings": {"80/tcp": []}}}) == []


def test_security_log_and_pid_options() -> None:
    check_security_opts(["no-new-privileges", "seccomp=unconfined", "apparmor:unconfined", "label=disable"])
    with pytest.raises(InvalidParameter, match=r'^invalid --security-opt 2: "foo=bar"$'):
        check_security_opts(["foo=bar"])
    with pytest.raises(InvalidParameter, match=r'^invalid --security-opt 1: "nonsense"$'):
        check_security_opts(["nonsense"])
    with pytest.raises(InvalidParameter, match="invalid --security-opt 2"):
        check_security_opts(["no-new-privileges=maybe"])
    check_log_opts("json-file", {"max-size": "1m", "labels": "a", "mode": "non-blocking"})
    check_log_opts("none", {"anything": "goes"})
    with pytest.raises(InvalidParameter, match="unknown log opt 'tag' for log driver local"):
        check_log_opts("local", {"tag": "x"})
    with pytest.raises(InvalidParameter, match="logging mode not supported: sometimes"):
        check_log_opts("json-file", {"mode": "sometimes"})
    for ok in ("", "host", "container:abc"):
        check_pid_mode(ok)
    with pytest.raises(InvalidParameter, match="invalid PID mode: container:"):
        check_pid_mode("container:")


def test_platforms() -> None:
    assert parse_platform("linux/arm64/v8") == ("linux", "arm64", "")
    assert parse_platform("x86_64") == ("linux", "amd64", "")
    assert parse_platform("linux") == ("linux", "amd64", "")
    check_platform("busybox", {"os": "linux", "architecture": "amd64"}, "linux/amd64")
    check_platform("busybox", {"os": "linux", "architecture": "arm", "variant": "v7"}, "linux/arm")
    with pytest.raises(NotFound) as err:
        check_platform("busybox", {"os": "linux", "architecture": "amd64"}, "linux/arm/v7")
    assert str(err.value) == ("image with reference busybox was found but does not match the specified "
                              "platform: wanted linux/arm/v7, actual: linux/amd64")


def test_env_merge_as_moby() -> None:
    image = ["PATH=/bin", "A=image", "B=image"]
    assert merge_env(image, []) == image
    assert merge_env(image, ["Foo", "A=user", "B", "Blank="]) == ["Foo", "A=user", "B", "Blank=", "PATH=/bin"]
