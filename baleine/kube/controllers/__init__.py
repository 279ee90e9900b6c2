"""The controllers of ``kube-controller-manager`` that one machine needs, each a
:class:`baleine.kube.controller.Controller`: ReplicaSet, Deployment, Job, CronJob,
EndpointSlice (and Endpoints).

Shared by the workload controllers: ``podtemplate`` (pure: the pod-template-hash,
IntOrString rounding, pod readiness and deletion ranking), ``claim`` (adoption
and release through ownerReferences), ``scale`` (the ``scale`` subresource of
Deployments and ReplicaSets), ``schedule`` (pure: cron schedules with time zones)."""
