"""Defaults the API server applies per kind (the common fields kube-apiserver fills in).

``apply(kind, obj)`` mutates ``obj`` in place; it runs before validation on
create and update, like the API server's defaulting on decode. Cluster IPs of
Services are allocated by ``registry`` (they depend on what is stored).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]


def _pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    if "serviceAccountName" in spec or "serviceAccount" in spec:
        spec.setdefault("serviceAccount", spec.get("serviceAccountName"))
        spec.setdefault("serviceAccountName", spec.get("serviceAccount"))
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        image = str(c.get("image") or "")
        tail = image.rsplit("/", 1)[-1]
        latest = "@" not in tail and (":" not in tail or tail.endswith(":latest"))
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for port in c.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def _template(obj: Obj) -> None:
    template = obj.setdefault("spec", {}).setdefault("template", {})
    if isinstance(template, dict) and isinstance(template.setdefault("spec", {}), dict):
        _pod_spec(template["spec"])
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)


def namespace(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")


def secret(obj: Obj) -> None:
    """``type: Opaque`` by default; ``stringData`` merged into ``data`` (base64) and dropped."""
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def pod(obj: Obj) -> None:
    _pod_spec(obj.setdefault("spec", {}))
    obj["spec"].setdefault("serviceAccountName", "default")
    obj["spec"].setdefault("serviceAccount", obj["spec"]["serviceAccountName"])
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    obj["status"].setdefault("qosClass", "BestEffort")


def service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if strategy.setdefault("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(obj)


def replicaset(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    _template(obj)


def job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if "completions" not in spec and "parallelism" not in spec:  # a work queue (parallelism alone) has none
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    _template(obj)
    uid = (obj.get("metadata") or {}).get("uid")
    if uid and not spec.get("manualSelector") and not spec.get("selector"):  # the API server's generateSelector
        ids = {"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid}
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        spec["template"].setdefault("metadata", {}).setdefault("labels", {}).update(
            {**ids, "batch.kubernetes.io/job-name": obj["metadata"].get("name", ""),
             "job-name": obj["metadata"].get("name", "")})


def cronjob(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    if isinstance(job_template, dict):
        job(job_template)


def pvc(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {}).setdefault("phase", "Pending")


BY_KIND: dict[str, Callable[[Obj], None]] = {
    "Namespace": namespace, "Secret": secret, "Pod": pod, "Service": service, "Deployment": deployment,
    "ReplicaSet": replicaset, "Job": job, "CronJob": cronjob, "PersistentVolumeClaim": pvc,
}


def apply(kind: str, obj: Obj) -> None:
    """Fill in ``obj``'s defaults for ``kind`` (in place)."""
    fn = BY_KIND.get(kind)
    if fn is not None:
        fn(obj)
