"""Ingress served by nginx that Baleine runs (issue 10).

- :mod:`.validation` — the API server's checks of an Ingress (pure).
- :mod:`.model` — Ingresses, Services, EndpointSlices, Secrets → a routing table (pure).
- :mod:`.label` — the ``io.baleine.ingress`` container label (compose's ``x-baleine-ingress``; pure).
- :mod:`.containers` — labelled containers and balanced groups → routes, merged by ``model.merge`` (pure).
- :mod:`.nginx` — the routing table → nginx.conf (pure).
- :mod:`.controller` — the component: an IngressClass, the nginx container, reloads, status.
"""
