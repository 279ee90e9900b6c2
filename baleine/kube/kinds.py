"""The registry of served kinds: group, version, plural, scope, short names, categories."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    """One served resource, as discovery describes it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False  # has a status subresource
    read_only: bool = False  # served for reading only (events.k8s.io/v1)
    definition: str = ""  # name in the OpenAPI definitions
    storage: str = ""  # key of the stored objects (several versions may share it)
    verbs: tuple[str, ...] = field(default=("create", "delete", "deletecollection", "get", "list", "patch",
                                            "update", "watch"))

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def resource(self) -> str:
        """The key objects are stored under: ``plural.group``, e.g. ``deployments.apps``."""
        return self.storage or (f"{self.plural}.{self.group}" if self.group else self.plural)


def _core(kind: str, plural: str, namespaced: bool = True, short: tuple[str, ...] = (), status: bool = False,
          categories: tuple[str, ...] = ()) -> Kind:
    return Kind("", "v1", kind, plural, namespaced, short, categories, status,
                definition=f"io.k8s.api.core.v1.{kind}")


_ALL = ("all",)
KINDS: tuple[Kind, ...] = (
    _core("Namespace", "namespaces", False, ("ns",), status=True),
    _core("ConfigMap", "configmaps", short=("cm",)),
    _core("Secret", "secrets"),
    _core("Event", "events", short=("ev",)),
    _core("ServiceAccount", "serviceaccounts", short=("sa",)),
    _core("Node", "nodes", False, ("no",), status=True),
    _core("Pod", "pods", short=("po",), status=True, categories=_ALL),
    _core("Service", "services", short=("svc",), status=True, categories=_ALL),
    _core("Endpoints", "endpoints", short=("ep",)),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",), status=True),
    Kind("apps", "v1", "Deployment", "deployments", True, ("deploy",), _ALL, True,
         definition="io.k8s.api.apps.v1.Deployment"),
    Kind("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), _ALL, True,
         definition="io.k8s.api.apps.v1.ReplicaSet"),
    Kind("batch", "v1", "Job", "jobs", True, (), _ALL, True, definition="io.k8s.api.batch.v1.Job"),
    Kind("batch", "v1", "CronJob", "cronjobs", True, ("cj",), _ALL, True, definition="io.k8s.api.batch.v1.CronJob"),
    Kind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True,
         definition="io.k8s.api.discovery.v1.EndpointSlice"),
    Kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), _ALL, True,
         definition="io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
         storage="horizontalpodautoscalers.autoscaling"),
    # v1 (kubectl autoscale) shares v2's storage: the registry converts (kube.hpaversions)
    Kind("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), _ALL, True,
         definition="io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
         storage="horizontalpodautoscalers.autoscaling"),
    Kind("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), (), True,
         definition="io.k8s.api.networking.v1.Ingress"),
    Kind("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False,
         definition="io.k8s.api.networking.v1.IngressClass"),
    Kind("events.k8s.io", "v1", "Event", "events", True, ("ev",), read_only=True,
         definition="io.k8s.api.events.v1.Event", storage="events",
         verbs=("get", "list", "watch")),
    # the Metrics API (metrics-server's aggregated group), served by kube/metrics.py from samples
    Kind("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", True, read_only=True, verbs=("get", "list")),
    Kind("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, read_only=True, verbs=("get", "list")),
)

#: Group name -> its versions, in the order discovery lists them.
GROUPS: dict[str, list[str]] = {}
for _k in KINDS:
    if _k.version not in GROUPS.setdefault(_k.group, []):
        GROUPS[_k.group].append(_k.version)


def lookup(group: str, version: str, plural: str) -> Kind | None:
    """The kind served at ``/apis/<group>/<version>/<plural>`` (``/api/v1`` for the core group)."""
    for k in KINDS:
        if (k.group, k.version, k.plural) == (group, version, plural):
            return k
    return None


def by_kind(api_version: str, kind: str) -> Kind | None:
    """The served kind for an object's ``apiVersion`` and ``kind``."""
    for k in KINDS:
        if (k.group_version, k.kind) == (api_version, kind):
            return k
    return None


def by_resource(resource: str) -> Kind:
    """The (first, writable) kind stored under ``resource``."""
    for k in KINDS:
        if k.resource == resource and not k.read_only:
            return k
    raise KeyError(resource)


def in_group_version(group: str, version: str) -> list[Kind]:
    return [k for k in KINDS if (k.group, k.version) == (group, version)]
