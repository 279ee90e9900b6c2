"""baleine.kube.openapi and discovery: what kubectl reads to learn the server."""

from __future__ import annotations

import json

from baleine.kube import discovery, openapi


def test_v3_index_points_at_every_group_version_with_a_hash() -> None:
    index = json.loads(openapi.v3_index())["paths"]
    assert set(index) == {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/discovery.k8s.io/v1",
                          "apis/events.k8s.io/v1", "apis/autoscaling/v2", "apis/autoscaling/v1",
                          "apis/networking.k8s.io/v1", "apis/metrics.k8s.io/v1beta1"}
    assert index["api/v1"]["serverRelativeURL"].startswith("/openapi/v3/api/v1?hash=")
    assert openapi.v3_for("apis/nope/v1") is None and openapi.v3_for("api") is None


def test_v3_patch_operations_declare_field_validation() -> None:
    """kubectl validates on the client unless the PATCH of the kind takes fieldValidation."""
    doc = json.loads(openapi.v3_for("api/v1"))
    op = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert {"name": "fieldValidation", "in": "query"}.items() <= \
        next(p for p in op["parameters"] if p["name"] == "fieldValidation").items()
    schemas = doc["components"]["schemas"]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert schemas["io.k8s.api.core.v1.ConfigMap"]["type"] == "object"  # not ["object", "null"]
    events = json.loads(openapi.v3_for("apis/events.k8s.io/v1"))["paths"]
    assert "patch" not in events["/apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}"]


def test_v2_is_swagger_with_definitions_refs() -> None:
    doc = json.loads(openapi.v2())
    assert doc["swagger"] == "2.0"
    ref = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["get"]["responses"]["200"]
    assert ref["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    assert "io.k8s.api.apps.v1.DeploymentSpec" in doc["definitions"]


def test_discovery_short_names_and_subresources() -> None:
    core = {r["name"]: r for r in discovery.resources("", "v1")["resources"]}
    assert core["configmaps"]["shortNames"] == ["cm"] and core["configmaps"]["namespaced"]
    assert not core["namespaces"]["namespaced"] and core["namespaces"]["shortNames"] == ["ns"]
    assert core["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert "configmaps/status" not in core
    assert discovery.resources("apps", "v2") is None
    groups = [g["name"] for g in discovery.api_groups()["groups"]]
    assert groups == ["apps", "batch", "discovery.k8s.io", "autoscaling", "networking.k8s.io", "events.k8s.io",
                      "metrics.k8s.io"]


def test_aggregated_discovery() -> None:
    accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
    assert discovery.wants_aggregated(accept)
    assert not discovery.wants_aggregated("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                                          "as=APIGroupDiscoveryList,application/json")
    core = discovery.aggregated(core=True)
    assert core["apiVersion"] == "apidiscovery.k8s.io/v2" and [i["metadata"]["name"] for i in core["items"]] == [""]
    resources = {r["resource"]: r for r in core["items"][0]["versions"][0]["resources"]}
    assert resources["configmaps"]["shortNames"] == ["cm"] and resources["nodes"]["scope"] == "Cluster"
    assert resources["pods"]["subresources"][0]["subresource"] == "status"
    named = discovery.aggregated(core=False)
    apps = next(i for i in named["items"] if i["metadata"]["name"] == "apps")
    assert apps["versions"][0]["resources"][0]["responseKind"] == {"group": "apps", "version": "v1",
                                                                   "kind": "Deployment"}
