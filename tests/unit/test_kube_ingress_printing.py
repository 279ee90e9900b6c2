"""``kubectl get ingress`` cells as kubectl 1.32 prints them."""
from __future__ import annotations

import datetime

from baleine.kube.ingress import printing

NOW = datetime.datetime.now(datetime.timezone.utc)


def test_hosts_three_then_more_and_star() -> None:
    rules = [{"host": f"h{i}.test"} for i in range(5)]
    assert printing.hosts({"spec": {"rules": rules}}, NOW) == "h0.test,h1.test,h2.test + 2 more..."
    assert printing.hosts({"spec": {"rules": [{"http": {}}]}}, NOW) == "*"


def test_class_address_and_ports() -> None:
    obj = {"spec": {"tls": [{"hosts": ["a"]}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"hostname": "lb.test"}]}}}
    assert printing.ingress_class(obj, NOW) == "<none>"
    assert printing.address(obj, NOW) == "10.0.0.1,lb.test"
    assert printing.ports(obj, NOW) == "80, 443" and printing.ports({"spec": {}}, NOW) == "80"
    assert printing.class_parameters({"spec": {"parameters": {"apiGroup": "k8s.example.com", "kind": "P",
                                                              "name": "x"}}}, NOW) == "P.k8s.example.com/x"
