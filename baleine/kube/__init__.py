"""A Kubernetes API server on one machine (issue 9, first floor).

Structured like kube-apiserver:

- ``server``: aiohttp app over HTTPS, client-certificate authentication (CA,
  server and admin certificates from ``certs``, the admin's ``kubeconfig``),
  routing; ``protobuf`` decodes the few protobuf bodies kubectl's typed
  clients post;
- ``registry``: the generic REST storage (create, get, list, watch, update,
  patch, delete; defaults from ``defaults``, rules from ``validation``,
  optimistic concurrency, ``status`` subresource, server-side apply with
  ``managedfields``) over ``storage`` (one SQLite file, a global
  resourceVersion counter) and ``watch`` (the event fan-out);
- ``kinds``: the served kinds; ``discovery`` and ``openapi`` describe them to
  clients; ``printers`` makes server-side tables; ``selectors`` parses label
  and field selectors; ``patch`` implements the three patch types;
- ``gc``: deletes dependents of deleted owners and the contents of deleted
  namespaces; ``node``: this machine as the cluster's one Node.

Errors are Kubernetes ``Status`` objects (``status``).

The cluster's components run beside the API server (``manager`` starts them with
one ``Context``: the registry, the engine's backends, the options):

- ``client``: in-process reads and writes for components; ``controller``: the
  level-triggered reconcile loop every controller is made of;
- ``controllers/``: ReplicaSet, Deployment, Job, CronJob, EndpointSlice;
- ``kubelet/``: the node agent, running pods as Baleine containers through the
  engine's backends (sandbox, containers, probes, volumes, status);
- ``proxy/``: Services as kube-proxy's iptables mode makes them (ClusterIP,
  NodePort, LoadBalancer), the service range (``servicecidr``) routed to the host;
- ``dns``: the cluster DNS; ``streams``: logs, exec, attach and port-forward.
"""
