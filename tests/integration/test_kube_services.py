"""Services end to end: the EndpointSlice controller and the proxy, driven by kubectl.

No node agent is needed: the "pods" are plain Baleine containers (busybox
``httpd`` answering with its own name) and Pod objects bound to the node
``ghost`` whose status (podIP = the container's address, Ready) the test sets
through the status subresource, as a kubelet would.
"""

from __future__ import annotations

import collections
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from baleine.kube.proxy import kernel

from ..conftest import BUSYBOX_TAR
from ..kubehelp import NEEDS_KUBECTL, Kube, get_json, kube_daemon, wait_for

pytestmark = NEEDS_KUBECTL
BACKENDS = ("web-0", "web-1", "web-2")


@dataclass
class Cluster:
    kube: Kube
    ips: dict[str, str]  # pod name -> container address

    @property
    def tag(self) -> str:
        return kernel.daemon_tag(str(self.kube.daemon.data_root))


def _pod(name: str, labels: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"nodeName": "ghost", "containers": [{"name": "web", "image": "busybox",
                                                          "ports": [{"name": "http", "containerPort": 8080}]}]}}


def set_status(k: Kube, pod: str, ip: str, ready: bool) -> None:
    """What the kubelet would report: Running, the address, Ready or not."""
    status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                         "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    k.ok("patch", "pod", pod, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def service(k: Kube, name: str, selector: dict[str, str], **spec: object) -> dict:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": "http"}], **spec}}
    k.ok("apply", "-f", "-", input=json.dumps(body))
    return get_json(k, "svc", name)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with kube_daemon() as k:
        d = k.daemon
        d.ok("load", "-i", str(BUSYBOX_TAR))
        ips = {}
        for name in BACKENDS:
            d.ok("run", "-d", "--name", name, "busybox", "sh", "-c",
                 f"mkdir /www && echo {name} > /www/index.html && exec httpd -f -p 8080 -h /www")
            ips[name] = d.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).strip()
            k.ok("apply", "-f", "-", input=json.dumps(_pod(name, {"app": "web"})))
            set_status(k, name, ips[name], ready=True)
        d.ok("run", "-d", "--name", "client", "busybox", "sleep", "3600")
        yield Cluster(k, ips)


def fetch(url: str, timeout: float = 3) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode().strip()


def answers_from_host(url: str, n: int) -> collections.Counter[str]:
    """``n`` requests, a new connection each, counted by the backend that answered."""
    return collections.Counter(fetch(url) for _ in range(n))


def nat_rules() -> str:
    return subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout


def wait_answer(url: str, timeout: float = 30) -> str:
    def attempt() -> str:
        try:
            return fetch(url, 1)
        except OSError:
            return ""
    return wait_for(attempt, timeout, what=f"an answer from {url}")


def test_slices_and_endpoints_follow_the_pods(cluster: Cluster) -> None:
    k = cluster.kube
    svc = service(k, "web", {"app": "web"})

    def slice_endpoints() -> dict[str, dict] | None:
        items = get_json(k, "endpointslices", "-l", "kubernetes.io/service-name=web")["items"]
        eps = {e["targetRef"]["name"]: e for s in items for e in s.get("endpoints") or []}
        return eps if len(eps) == 3 else None
    eps = wait_for(slice_endpoints, 30, what="three endpoints")
    sl = get_json(k, "endpointslices", "-l", "kubernetes.io/service-name=web")["items"][0]
    assert sl["addressType"] == "IPv4"
    assert sl["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert sl["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    for name, ep in eps.items():
        assert ep["addresses"] == [cluster.ips[name]]
        assert ep["conditions"] == {"ready": True, "serving": True, "terminating": False}
        assert ep["nodeName"] == "ghost" and ep["targetRef"]["kind"] == "Pod"
    assert "zone" not in eps["web-0"]
    out = k.ok("get", "endpoints", "web")
    assert f"{cluster.ips['web-0']}:8080" in out
    described = k.ok("describe", "svc", "web")
    line = next(x for x in described.splitlines() if x.startswith("Endpoints:"))
    assert f"{cluster.ips['web-0']}:8080" in line, described

    # web-2 not ready: its endpoint says so, and it moves to notReadyAddresses.
    set_status(k, "web-2", cluster.ips["web-2"], ready=False)
    wait_for(lambda: not (slice_endpoints() or {}).get("web-2", {}).get("conditions", {}).get("ready", True),
             30, what="web-2 not ready in the slice")

    def not_ready() -> list[str]:
        ep = get_json(k, "endpoints", "web")
        return [a["ip"] for s in ep.get("subsets") or [] for a in s.get("notReadyAddresses") or []]
    assert wait_for(not_ready, 30) == [cluster.ips["web-2"]]
    set_status(k, "web-2", cluster.ips["web-2"], ready=True)
    wait_for(lambda: not not_ready(), 30, what="web-2 ready again")


def test_a_deleted_pod_leaves_and_the_python_client_reads_slices_and_endpoints(cluster: Cluster) -> None:
    import kubernetes

    k = cluster.kube
    api = kubernetes.config.new_client_from_config(config_file=k.kubeconfig)
    core, discovery = kubernetes.client.CoreV1Api(api), kubernetes.client.DiscoveryV1Api(api)
    pod = _pod("extra", {"app": "extra"})
    k.ok("apply", "-f", "-", input=json.dumps(pod))
    set_status(k, "extra", cluster.ips["web-0"], ready=True)
    service(k, "extra", {"app": "extra"})

    def addresses() -> list[str]:
        ep = core.read_namespaced_endpoints("extra", "default")
        return [a.ip for s in ep.subsets or [] for a in s.addresses or []]
    assert wait_for(addresses, 30, what="the extra pod in Endpoints") == [cluster.ips["web-0"]]
    slices = discovery.list_namespaced_endpoint_slice("default", label_selector="kubernetes.io/service-name=extra")
    assert [e.target_ref.name for s in slices.items for e in s.endpoints or []] == ["extra"]
    assert slices.items[0].ports[0].port == 8080

    k.ok("delete", "pod", "extra", "--grace-period=0", "--force")  # no kubelet on "ghost" to finish a graceful one
    wait_for(lambda: not addresses(), 30, what="the deleted pod out of Endpoints")

    def empty_slice() -> bool:
        items = discovery.list_namespaced_endpoint_slice(
            "default", label_selector="kubernetes.io/service-name=extra").items
        return len(items) == 1 and not items[0].endpoints
    wait_for(empty_slice, 30, what="the placeholder slice")
    k.ok("delete", "svc", "extra")
    wait_for(lambda: k.run("get", "endpoints", "extra").returncode != 0, 30, what="Endpoints deleted with the Service")


def test_clusterip_balances_over_ready_endpoints_from_the_host_and_a_container(cluster: Cluster) -> None:
    k = cluster.kube
    ip = service(k, "web", {"app": "web"})["spec"]["clusterIP"]
    url = f"http://{ip}/"
    wait_answer(url)
    seen = answers_from_host(url, 60)
    assert set(seen) == set(BACKENDS), seen
    # From a container, through its bridge.
    out = k.daemon.ok("exec", "client", "sh", "-c", f"for i in $(seq 40); do wget -qO- {url}; done")
    assert set(out.split()) == set(BACKENDS), out

    set_status(k, "web-1", cluster.ips["web-1"], ready=False)
    try:
        def only_ready() -> bool:
            return "web-1" not in answers_from_host(url, 30)
        wait_for(only_ready, 30, what="web-1 out of rotation")
        assert set(answers_from_host(url, 60)) == {"web-0", "web-2"}
    finally:
        set_status(k, "web-1", cluster.ips["web-1"], ready=True)


def test_a_pod_reaches_itself_through_its_service(cluster: Cluster) -> None:
    k = cluster.kube
    ip = service(k, "web", {"app": "web"})["spec"]["clusterIP"]
    wait_answer(f"http://{ip}/")
    out = k.daemon.ok("exec", "web-0", "sh", "-c", f"for i in $(seq 40); do wget -qO- http://{ip}/; done")
    assert "web-0" in out.split() and len(out.split()) == 40, out


def test_nodeport_on_localhost_and_loadbalancer_ingress(cluster: Cluster) -> None:
    k = cluster.kube
    svc = service(k, "web-lb", {"app": "web"}, type="LoadBalancer")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    wait_answer(f"http://127.0.0.1:{node_port}/")
    assert set(answers_from_host(f"http://127.0.0.1:{node_port}/", 60)) == set(BACKENDS)
    ingress = wait_for(lambda: get_json(k, "svc", "web-lb")["status"].get("loadBalancer", {}).get("ingress"), 30)
    host_ip = ingress[0]["ip"]
    assert fetch(f"http://{host_ip}:{node_port}/") in BACKENDS
    assert fetch(f"http://{host_ip}:80/") in BACKENDS
    # From a container, to the host's address.
    out = k.daemon.ok("exec", "client", "wget", "-qO-", f"http://{host_ip}:{node_port}/")
    assert out.strip() in BACKENDS
    assert host_ip in k.ok("get", "svc", "web-lb")
    k.ok("delete", "svc", "web-lb")


def test_client_ip_affinity_sticks(cluster: Cluster) -> None:
    k = cluster.kube
    ip = service(k, "sticky", {"app": "web"}, sessionAffinity="ClientIP",
                 sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})["spec"]["clusterIP"]
    wait_answer(f"http://{ip}/")
    seen = answers_from_host(f"http://{ip}/", 30)
    assert len(seen) == 1, seen
    k.ok("delete", "svc", "sticky")


def test_headless_service_has_slices_and_no_rules(cluster: Cluster) -> None:
    k = cluster.kube
    svc = service(k, "web-headless", {"app": "web"}, clusterIP="None")
    assert svc["spec"]["clusterIP"] == "None"
    wait_for(lambda: len([e for s in get_json(k, "endpointslices", "-l",
                                              "kubernetes.io/service-name=web-headless")["items"]
                          for e in s.get("endpoints") or []]) == 3, 30, what="headless slices")
    assert "default/web-headless" not in nat_rules()
    labels = get_json(k, "endpointslices", "-l", "kubernetes.io/service-name=web-headless")["items"][0]["metadata"][
        "labels"]
    assert labels["service.kubernetes.io/headless"] == ""
    k.ok("delete", "svc", "web-headless")


def test_no_ready_endpoint_rejects_and_deleted_service_loses_its_rules(cluster: Cluster) -> None:
    k = cluster.kube
    ip = service(k, "nobody", {"app": "nobody"})["spec"]["clusterIP"]
    wait_for(lambda: "default/nobody has no endpoints" in subprocess.run(
        ["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout, 30, what="the REJECT rule")
    start = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((ip, 80), timeout=5)
    assert time.monotonic() - start < 2  # refused at once (icmp port-unreachable), not timed out

    ip = service(k, "gone", {"app": "web"})["spec"]["clusterIP"]
    wait_answer(f"http://{ip}/")
    assert "default/gone cluster IP" in nat_rules()
    k.ok("delete", "svc", "gone")
    wait_for(lambda: "default/gone" not in nat_rules(), 30, what="the rules of a deleted Service gone")
    # Nothing answers any more, and the packet never leaves the host (the range
    # goes to the sink interface): no refusal, no answer from elsewhere.
    with pytest.raises(TimeoutError):
        socket.create_connection((ip, 80), timeout=1)
    wait_for(lambda: not get_json(k, "endpointslices", "-l", "kubernetes.io/service-name=gone")["items"], 30)
    k.ok("delete", "svc", "nobody")


def test_services_keep_working_across_a_daemon_kill_and_restart(cluster: Cluster) -> None:
    k = cluster.kube
    url = f"http://{service(k, 'web', {'app': 'web'})['spec']['clusterIP']}/"
    wait_answer(url)
    k.daemon.stop(signal.SIGKILL)
    assert set(answers_from_host(url, 60)) == set(BACKENDS)  # the kernel's rules outlive the daemon
    k.daemon.start()
    k.wait_ready()
    assert set(answers_from_host(url, 60)) == set(BACKENDS)
    set_status(k, "web-1", cluster.ips["web-1"], ready=False)  # and changes are followed again
    try:
        wait_for(lambda: "web-1" not in answers_from_host(url, 30), 30, what="web-1 out of rotation")
    finally:
        set_status(k, "web-1", cluster.ips["web-1"], ready=True)
    wait_for(lambda: "web-1" in answers_from_host(url, 30), 30, what="web-1 back")


def _links() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout


def test_chains_dummy_interface_and_route_go_with_the_daemon() -> None:
    with kube_daemon() as k:
        tag = kernel.daemon_tag(str(k.daemon.data_root))
        wait_for(lambda: f"bkube-{tag}" in _links(), 30, what="the dummy interface")
        cidr = get_json(k, "svc", "kubernetes")["spec"]["clusterIP"]
        routes = subprocess.run(["ip", "route", "show", "dev", f"bkube-{tag}"], capture_output=True,
                                text=True).stdout
        assert routes.split()[0].startswith(cidr.rsplit(".", 2)[0]), routes
        assert f"BKUBE-{tag}-SERVICES" in nat_rules()
    assert f"bkube-{tag}" not in _links()
    assert f"BKUBE-{tag}-" not in nat_rules()
    assert f"BKUBE-{tag}-" not in subprocess.run(["iptables-save", "-t", "filter"], capture_output=True,
                                                 text=True).stdout


def test_no_proxy_with_iptables_false() -> None:
    with kube_daemon("--iptables=false") as k:
        tag = kernel.daemon_tag(str(k.daemon.data_root))
        service(k, "web", {"app": "web"})
        wait_for(lambda: get_json(k, "endpointslices", "-l", "kubernetes.io/service-name=web")["items"], 30,
                 what="the Service's slice")  # the controller runs; the proxy does not
        assert f"BKUBE-{tag}-" not in nat_rules() and f"bkube-{tag}" not in _links()
        assert "proxy: not started (--iptables=false)" in k.daemon.log()
