"""baleine.kube.validation and defaults: kube-apiserver's rules and messages."""

from __future__ import annotations

import base64

import pytest

from baleine.kube import defaults, openapi
from baleine.kube.status import APIError
from baleine.kube.validation import decode_check, error, validate, validate_update


def messages(kind: str, obj: dict) -> list[str]:
    defaults.apply(kind, obj)
    return [f"{c.field}: {c.message}" for c in validate(kind, obj)]


def deployment(replicas: int = 1) -> dict:
    return {"metadata": {"name": "d"}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "d"}},
                                               "template": {"metadata": {"labels": {"app": "d"}},
                                                            "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


def test_names() -> None:
    assert messages("ConfigMap", {"metadata": {"name": "a.b-c"}}) == []
    bad = messages("ConfigMap", {"metadata": {"name": "Bad_Name"}})
    assert bad[0].startswith('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    assert messages("Namespace", {"metadata": {"name": "a.b"}})[0].startswith(
        'metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label')
    assert messages("Secret", {"metadata": {}}) == [
        "metadata.name: Required value: name or generateName is required"]


def test_replicas_message_and_error_layout() -> None:
    assert messages("Deployment", deployment(2)) == []
    obj = deployment(-1)
    defaults.apply("Deployment", obj)
    exc = error("Deployment", "d", "apps", validate("Deployment", obj))
    assert exc.code == 422 and exc.reason == "Invalid"
    assert exc.message == ('Deployment "d" is invalid: spec.replicas: Invalid value: -1: '
                           "must be greater than or equal to 0")
    assert exc.status()["details"]["causes"][0]["field"] == "spec.replicas"


def test_selector_must_match_template() -> None:
    obj = deployment()
    obj["spec"]["selector"]["matchLabels"] = {"app": "other"}
    assert any("`selector` does not match template `labels`" in m for m in messages("Deployment", obj))


def test_secrets() -> None:
    ok = {"metadata": {"name": "s"}, "data": {"a": base64.b64encode(b"x").decode()}, "stringData": {"b": "y"}}
    assert messages("Secret", ok) == []
    assert ok["type"] == "Opaque" and base64.b64decode(ok["data"]["b"]) == b"y" and "stringData" not in ok
    assert messages("Secret", {"metadata": {"name": "s"}, "data": {"a": "!!"}}) == [
        'data[a]: Invalid value: "<secret contents redacted>": illegal base64 data']
    assert messages("Secret", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}) == [
        "data[tls.crt]: Required value", "data[tls.key]: Required value"]
    docker = base64.b64encode(b'{"auths":{}}').decode()
    assert messages("Secret", {"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson",
                               "data": {".dockerconfigjson": docker}}) == []
    with_type = {"metadata": {"name": "s"}, "type": "Opaque"}
    assert validate_update("Secret", with_type, {**with_type, "type": "x"})[0].field == "type"


def test_pods_jobs_services() -> None:
    assert messages("Pod", {"metadata": {"name": "p"}, "spec": {}}) == ["spec.containers: Required value"]
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert messages("Pod", pod) == []
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    job = {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}
    assert messages("Job", job) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']
    assert messages("Service", {"metadata": {"name": "s"}, "spec": {}}) == ["spec.ports: Required value"]
    svc = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    assert messages("Service", svc) == [] and svc["spec"]["ports"][0] == {"port": 80, "protocol": "TCP",
                                                                         "targetPort": 80}


def test_unknown_fields_by_directive() -> None:
    defs = openapi.definitions()
    schema = defs["io.k8s.api.core.v1.ConfigMap"]
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "bogus": 1}, "data": {"a": "b"},
            "extra": True}
    with pytest.raises(APIError) as info:
        decode_check(body, schema, defs, "ConfigMap", "v1", "Strict")
    assert info.value.code == 400
    assert info.value.message == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
                                  'error: unknown field "extra", unknown field "metadata.bogus"')
    pruned, warnings = decode_check(body, schema, defs, "ConfigMap", "v1", "Warn")
    assert "extra" not in pruned and "bogus" not in pruned["metadata"]
    assert warnings == ['unknown field "extra"', 'unknown field "metadata.bogus"']
    assert decode_check(body, schema, defs, "ConfigMap", "v1", "Ignore")[1] == []
    with pytest.raises(APIError, match="cannot unmarshal"):
        decode_check({"data": "not-a-map"}, schema, defs, "ConfigMap", "v1", "Strict")
