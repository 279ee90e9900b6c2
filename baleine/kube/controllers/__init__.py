"""The controllers of ``kube-controller-manager`` that one machine needs, each a
:class:`baleine.kube.controller.Controller`: ReplicaSet, Deployment, Job, CronJob,
EndpointSlice (and Endpoints)."""
