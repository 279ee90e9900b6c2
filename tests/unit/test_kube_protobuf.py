"""baleine.kube.protobuf: the bodies kubectl's typed clients post."""

from __future__ import annotations

import pytest

from baleine.kube.protobuf import MAGIC, Unsupported, decode


def varint(n: int) -> bytes:
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return MAGIC + field(1, field(1, api_version) + field(2, kind)) + field(2, raw) + field(4, "application/"
                                                                                         "vnd.kubernetes.protobuf")


def entry(key: str, value: str | bytes) -> bytes:
    return field(1, key) + field(2, value)


def test_configmap_with_labels_and_data() -> None:
    meta = field(1, "cm") + field(2, "") + field(11, entry("app", "web"))
    raw = field(1, meta) + field(2, entry("a", "1")) + field(2, entry("b", "2"))
    assert decode(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"app": "web"}},
        "data": {"a": "1", "b": "2"}}


def test_secret_bytes_become_base64_and_empty_type_is_unset() -> None:
    raw = field(1, field(1, "s")) + field(2, entry("k", b"\x00\xff")) + field(3, "")
    assert decode(envelope("v1", "Secret", raw)) == {"apiVersion": "v1", "kind": "Secret",
                                                     "metadata": {"name": "s"}, "data": {"k": "AP8="}}


def test_deployment_keeps_an_explicit_zero_replicas() -> None:
    container = field(1, "web") + field(2, "nginx") + field(6, field(3, 80) + field(4, "TCP"))
    template = field(1, field(11, entry("app", "d"))) + field(2, field(2, container) + field(3, ""))
    spec = field(1, 0) + field(2, field(1, entry("app", "d"))) + field(3, template)
    obj = decode(envelope("apps/v1", "Deployment", field(1, field(1, "d")) + field(2, spec)))
    assert obj["spec"]["replicas"] == 0
    assert obj["spec"]["selector"] == {"matchLabels": {"app": "d"}}
    assert obj["spec"]["template"]["spec"] == {
        "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}


def test_service_ports_with_int_or_string_target_ports() -> None:
    ports = field(1, field(1, "http") + field(2, "TCP") + field(3, 80) + field(4, field(1, 0) + field(2, 8080)))
    ports += field(1, field(3, 443) + field(4, field(1, 1) + field(3, "https")))
    spec = ports + field(2, entry("app", "web")) + field(3, "") + field(4, "ClusterIP")
    obj = decode(envelope("v1", "Service", field(1, field(1, "web")) + field(2, spec)))
    assert obj["spec"] == {"ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                                     {"port": 443, "targetPort": "https"}],
                           "selector": {"app": "web"}, "type": "ClusterIP"}


@pytest.mark.parametrize("body", [b'{"kind": "ConfigMap"}', envelope("v1", "Pod", b""), MAGIC + b"\x0a\xff"])
def test_unsupported_bodies(body: bytes) -> None:
    with pytest.raises(Unsupported):
        decode(body)
