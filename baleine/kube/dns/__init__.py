"""The cluster DNS (issue 9): Kubernetes' DNS for Services and Pods, on one machine.

- :mod:`.names`: what is answered (Kubernetes' DNS specification), pure, over
  the cluster's objects;
- :mod:`.server`: the component: the ``kube-system/kube-dns`` Service, the
  server on its address (UDP and TCP 53, the engine's DNS codec and forwarder),
  forwarding the rest upstream;
- :mod:`.cache`: the objects the answers are made of, kept current by watches;
- :mod:`.interface`: the host interface holding the DNS address;
- :mod:`.podconfig`: a pod's resolv.conf by its ``dnsPolicy`` and ``dnsConfig``
  (:func:`pod_dns_config`, asked by the node agent for every sandbox).
"""

from __future__ import annotations

from .podconfig import pod_dns_config, render
from .server import start

__all__ = ["pod_dns_config", "render", "start"]
