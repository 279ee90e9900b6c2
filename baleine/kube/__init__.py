"""A Kubernetes API server on one machine (issue 9, first floor).

Structured like kube-apiserver: ``server`` (aiohttp app, TLS, client-certificate
authentication, routing) hands requests to ``registry`` (the generic REST
storage: defaults, validation, optimistic concurrency) over ``storage`` (one
SQLite file, a global resourceVersion counter) and ``watch`` (the event fan-out).
``kinds`` is the list of served kinds; ``discovery`` and ``openapi`` describe
them to clients; ``printers`` makes server-side tables; ``patch`` implements the
three patch types; ``gc`` deletes dependents of deleted owners and the contents
of deleted namespaces.

No controller runs Pods, Deployments, Jobs... yet: they are stored, defaulted and
validated only. The node agent comes in a later floor.
"""
