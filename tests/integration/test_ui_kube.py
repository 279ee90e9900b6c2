"""The dashboard's Kubernetes pages (``baleine/ui/kube.py``, ``ui/src/kube.ts``): objects made
with kubectl show up in a real browser (Debian's chromium through Playwright), status changes
arrive live from the watch stream, Scale and Restart write through the registry as kubectl
would, the routes keep the dashboard's 401/CSRF rules, and a daemon without the Kubernetes API
says so.

Pods run nowhere: templates and pods name the node ``ghost`` (the node agent leaves such pods
alone) and the test writes status itself through the status subresource, and what the
controllers would write (a ReplicaSet, a rollout's status, an EndpointSlice, an Event) by hand.
Screenshots go to the test's temporary directory (``BALEINE_UI_SCREENSHOTS=<dir>`` keeps them).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import BUSYBOX_TAR, Daemon, destroy_daemon, new_daemon
from ..kubehelp import NEEDS_KUBECTL, Kube, free_port, get_json, wait_for
from .test_ui import CHROMIUM, _shot, login, login_token, request

pytestmark = NEEDS_KUBECTL

NS = "shop"
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeName: ghost
      containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Service
metadata: {name: solo-svc, namespace: shop}
spec:
  type: NodePort
  selector: {app: solo}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: shop, labels: {app: solo}}
spec:
  nodeName: ghost
  containers: [{name: app, image: busybox, command: [sleep, "3600"], ports: [{containerPort: 8080}]}]
"""


def _ui_daemon(*extra: str) -> tuple[Daemon, str]:
    port = free_port()
    # 0.3 s, as test_ui: a headless Chromium shares the two cores with the daemon.
    d = new_daemon(extra_args=["--ui-addr", f"127.0.0.1:{port}", "--debug-slow-callback", "0.3", *extra])
    return d, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def kube_ui() -> Iterator[tuple[Kube, str]]:
    """A daemon serving the dashboard and the Kubernetes API; (kubectl wrapper, dashboard address)."""
    kport = free_port()
    d, addr = _ui_daemon("--kube-addr", f"127.0.0.1:{kport}")
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        k = Kube(d, kport)
        k.wait_ready()
        k.ok("create", "namespace", NS)
        k.ok("apply", "-f", "-", input=DEPLOYMENT)
        yield k, addr
    finally:
        destroy_daemon(d)


@pytest.fixture
def page():  # noqa: ANN201 - playwright Page
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()


def _set_pod_status(k: Kube, name: str, ready: bool, ip: str = "10.244.9.9") -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": stamp,
              "conditions": [{"type": "Ready", "status": str(ready), "lastTransitionTime": stamp},
                             {"type": "ContainersReady", "status": str(ready), "lastTransitionTime": stamp}],
              "containerStatuses": [{"name": "app", "ready": ready, "restartCount": 0 if ready else 4,
                                     "image": "busybox", "imageID": "", "started": ready,
                                     "state": {"running": {"startedAt": stamp}} if ready else
                                     {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}}]}
    k.ok("patch", "pod", name, "-n", NS, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))


KUBE_ROUTES = ["/ui/kube/namespaces", f"/ui/kube/pods?namespace={NS}", f"/ui/kube/deployments/{NS}/web",
               f"/ui/kube/watch?namespace={NS}", f"/ui/kube/deployments/{NS}/web/scale",
               f"/ui/kube/deployments/{NS}/web/restart"]


def test_the_routes_need_a_session_and_writes_the_csrf_token(kube_ui: tuple[Kube, str]) -> None:
    k, addr = kube_ui
    for path in KUBE_ROUTES:
        for method in ("GET", "POST"):
            assert request(addr, method, path).status == 401, (method, path)
    cookie, csrf = login(addr, k.daemon)
    path, body = f"/ui/kube/deployments/{NS}/web/scale", json.dumps({"replicas": 4}).encode()
    base = {"Cookie": cookie, "Content-Type": "application/json"}
    for headers in ({"Origin": f"http://{addr}"}, {"Origin": f"http://{addr}", "X-CSRF-Token": "x" * 64},
                    {"X-CSRF-Token": csrf}, {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}):
        assert request(addr, "POST", path, {**base, **headers}, body).status == 403, headers
    assert get_json(k, "deployment", "web", "-n", NS)["spec"]["replicas"] == 2
    # Reads are GET only: the JSON routes answer what kubectl sees.
    names = {n["metadata"]["name"] for n in json.loads(request(addr, "GET", "/ui/kube/namespaces",
                                                               {"Cookie": cookie}).data)["items"]}
    assert {"default", "kube-system", NS} <= names
    svc = json.loads(request(addr, "GET", f"/ui/kube/services/{NS}/solo-svc", {"Cookie": cookie}).data)
    assert svc["spec"]["clusterIP"] == get_json(k, "service", "solo-svc", "-n", NS)["spec"]["clusterIP"]
    assert request(addr, "GET", f"/ui/kube/services/{NS}/nope", {"Cookie": cookie}).status == 404
    assert request(addr, "GET", f"/ui/kube/secrets?namespace={NS}", {"Cookie": cookie}).status == 404
    assert request(addr, "PUT", f"/ui/kube/services/{NS}/solo-svc",
                   {**base, "X-CSRF-Token": csrf, "Origin": f"http://{addr}"}, b"{}").status == 405
    bad = request(addr, "POST", path, {**base, "X-CSRF-Token": csrf, "Origin": f"http://{addr}"}, b'{"replicas": -1}')
    assert bad.status == 400


def test_the_watch_stream_sends_what_exists_then_changes(kube_ui: tuple[Kube, str]) -> None:
    """The NDJSON stream starts with every object ADDED, then follows changes."""
    import http.client

    k, addr = kube_ui
    cookie, _ = login(addr, k.daemon)
    conn = http.client.HTTPConnection(addr, timeout=10)
    conn.request("GET", f"/ui/kube/watch?namespace={NS}&resources=services,pods", headers={"Cookie": cookie})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/x-ndjson")
    seen = set()
    while not {("services", "solo-svc"), ("pods", "solo")} <= seen:
        line = resp.readline()
        assert line, "the stream ended early"
        if line.strip():
            ev = json.loads(line)
            assert ev["resource"] in ("services", "pods")
            if ev["type"] == "ADDED":
                seen.add((ev["resource"], ev["object"]["metadata"]["name"]))
    k.ok("label", "service", "solo-svc", "-n", NS, "touched=yes")
    while True:
        line = resp.readline()
        assert line
        ev = json.loads(line) if line.strip() else {}
        if ev.get("type") == "MODIFIED" and ev["resource"] == "services":
            assert ev["object"]["metadata"]["labels"]["touched"] == "yes"
            break
    conn.close()


def _controller_made_objects(k: Kube) -> None:
    """What the deployment and EndpointSlice controllers would write, written by hand so the
    page is tested whether or not those controllers run: a ReplicaSet of revision 1 owned by
    the Deployment (scaled to 0: no pods), a rollout half done, a slice with one ready and
    one unready address (a slice the controller does not manage: it leaves it alone)."""
    dep = get_json(k, "deployment", "web", "-n", NS)
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": dep["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-handmade", "namespace": NS, "ownerReferences": [owner],
                       "labels": {"app": "web", "pod-template-hash": "handmade"},
                       "annotations": {"deployment.kubernetes.io/revision": "1",
                                       "kubernetes.io/change-cause": "first cut"}},
          "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "handmade"}},
                   "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "handmade"}},
                                "spec": {"nodeName": "ghost", "containers": [{"name": "app", "image": "busybox"}]}}}}
    k.ok("create", "-f", "-", input=json.dumps(rs))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"replicas": 2, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
              "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                              "lastUpdateTime": stamp, "lastTransitionTime": stamp},
                             {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                              "lastUpdateTime": stamp, "lastTransitionTime": stamp}]}
    k.ok("patch", "deployment", "web", "-n", NS, "--subresource=status", "--type=merge",
         "-p", json.dumps({"status": status}))
    endpoint = {"conditions": {"ready": True}, "nodeName": "ghost"}
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
              "metadata": {"name": "solo-svc-handmade", "namespace": NS,
                           "labels": {"kubernetes.io/service-name": "solo-svc"}},
              "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
              "endpoints": [{**endpoint, "addresses": ["10.244.9.9"]},
                            {**endpoint, "addresses": ["10.244.9.8"], "conditions": {"ready": False}}]}
    k.ok("create", "-f", "-", input=json.dumps(slice_))
    event = {"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "BackOff", "count": 3,
             "message": "Back-off restarting failed container app", "firstTimestamp": stamp, "lastTimestamp": stamp,
             "metadata": {"name": "solo.backoff", "namespace": NS}, "source": {"component": "kubelet"},
             "involvedObject": {"kind": "Pod", "namespace": NS, "name": "solo", "apiVersion": "v1"}}
    k.ok("create", "-f", "-", input=json.dumps(event))


def test_the_kubernetes_page_in_a_browser(kube_ui: tuple[Kube, str], page, tmp_path: Path, name: str) -> None:
    from playwright.sync_api import expect

    k, addr = kube_ui
    d = k.daemon
    page.goto(f"http://{addr}/?token={login_token(d)}")
    page.goto(f"http://{addr}/#/kube/{NS}")
    expect(page.locator("#kube-state")).to_have_attribute("data-kube", "live", timeout=10_000)
    expect(page.locator("#kube-ns")).to_have_value(NS)
    card = page.locator('section[data-deployment="web"]')
    expect(card).to_have_attribute("data-replicas", "2", timeout=2_000)
    solo = page.locator('tr[data-pod="solo"]')
    expect(solo).to_have_attribute("data-ready", "0/1", timeout=2_000)
    expect(solo).to_contain_text("ghost")

    _controller_made_objects(k)  # each shows up live
    expect(card).to_have_attribute("data-rolling", "true", timeout=2_000)
    expect(card.get_by_role("progressbar", name="Rollout of web")).to_be_visible()
    expect(card.locator('ul.conditions li[data-condition="Available"]')).to_be_visible()
    card.locator("summary").click()
    rev = card.locator('tr[data-revision="1"]')
    expect(rev).to_be_visible(timeout=2_000)
    expect(rev).to_contain_text("web-handmade")
    expect(rev).to_contain_text("first cut")
    expect(page.locator('tr[data-event="BackOff"]')).to_contain_text("pod/solo", timeout=2_000)
    expect(page.locator('tr[data-event="BackOff"]')).to_contain_text("×3")

    _set_pod_status(k, "solo", ready=False)
    expect(solo).to_have_attribute("data-status", "CrashLoopBackOff", timeout=2_000)  # live, from the watch
    expect(solo.locator("td").nth(3)).to_have_text("4")
    _set_pod_status(k, "solo", ready=True)
    expect(solo).to_have_attribute("data-ready", "1/1", timeout=2_000)
    expect(solo).to_have_attribute("data-status", "Running")
    expect(solo).to_contain_text("10.244.9.9")
    expect(rev).to_be_visible()  # the open revisions survive the live re-renders

    svc = page.locator('tr[data-service="solo-svc"]')
    spec = get_json(k, "service", "solo-svc", "-n", NS)["spec"]
    expect(svc).to_contain_text(spec["clusterIP"])
    expect(svc).to_contain_text(f"80:{spec['ports'][0]['nodePort']}/TCP")
    expect(svc).to_have_attribute("data-endpoints", "10.244.9.9:8080", timeout=5_000)  # the unready one left out

    # A Baleine container carrying the pod's labels: the pod's name links to its page.
    c = d.api().containers.run("busybox", ["sleep", "300"], name=name, detach=True, labels={
        "io.kubernetes.pod.name": "solo", "io.kubernetes.pod.namespace": NS, "io.kubernetes.container.name": "app",
        "io.kubernetes.docker.type": "container", "io.kubernetes.container.restartCount": "0"})
    try:
        expect(solo.locator(f'a[href="#/containers/{c.id}"]')).to_be_visible(timeout=5_000)
        _shot(page, tmp_path, "kube")
    finally:
        c.remove(force=True)

    # Scale from the keyboard: the input, then Enter submits the form.
    replicas = card.get_by_label("Replicas of web")
    replicas.focus()
    replicas.fill("3")
    page.keyboard.press("Enter")
    wait_for(lambda: get_json(k, "deployment", "web", "-n", NS)["spec"]["replicas"] == 3, timeout=10,
             what="spec.replicas 3")
    expect(card).to_have_attribute("data-replicas", "3", timeout=2_000)

    card.locator('button[data-action="restart"]').click()
    page.locator('dialog[open] button[data-confirm="yes"]').click()
    wait_for(lambda: (get_json(k, "deployment", "web", "-n", NS)["spec"]["template"]["metadata"]
                      .get("annotations") or {}).get("kubectl.kubernetes.io/restartedAt"), timeout=10,
             what="the restartedAt annotation")
    _shot(page, tmp_path, "kube-rollout")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(solo).to_be_visible()
    _shot(page, tmp_path, "kube-phone")

    # The namespace selector follows the cluster's namespaces live, and moves to another one.
    k.ok("create", "namespace", "late-comer")
    expect(page.locator('#kube-ns option[value="late-comer"]')).to_be_attached(timeout=2_000)
    page.select_option("#kube-ns", "default")
    expect(page.locator("#kube-state")).to_contain_text("Namespace default", timeout=5_000)
    expect(page.locator('tr[data-service="kubernetes"]')).to_be_visible(timeout=5_000)
    expect(page.locator('section[data-deployment="web"]')).to_have_count(0)


HPA_AND_INGRESS = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web-hpa, namespace: shop}
spec:
  # A target that does not exist: an HPA controller can only add AbleToScale=False, and
  # leaves the metrics this test writes as they are (kube's FailedGetScale path).
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: shop-api}
  minReplicas: 1
  maxReplicas: 6
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 64Mi}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  ingressClassName: elsewhere  # no controller here claims it: the test writes its status
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
      - {path: /, pathType: Exact, backend: {service: {name: front, port: {name: http}}}}
  - http:
      paths:
      - {path: /status, pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 8080}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback, namespace: shop}
spec:
  ingressClassName: elsewhere
  defaultBackend: {service: {name: front, port: {number: 80}}}
"""


def _hpa_status(k: Kube, current: int, desired: int, cpu: int, memory: str) -> None:
    """What an HPA controller writes, through the status subresource
    (``/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web-hpa/status``)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status = {"currentReplicas": current, "desiredReplicas": desired, "lastScaleTime": stamp,
              "currentMetrics": [
                  {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": memory}}},
                  {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cpu}}}],
              "conditions": [{"type": "ScalingLimited", "status": str(desired >= 6), "lastTransitionTime": stamp,
                              "reason": "TooManyReplicas" if desired >= 6 else "DesiredWithinRange"}]}
    k.ok("patch", "hpa", "web-hpa", "-n", NS, "--subresource=status", "--type=merge",
         "-p", json.dumps({"status": status}))


def test_hpas_and_ingresses_in_a_browser(kube_ui: tuple[Kube, str], page, tmp_path: Path) -> None:
    """The HPA card plots each status written (history on load, then live), the Ingress
    card shows the rules, TLS and address with links to the hosts; both at a phone's width."""
    from playwright.sync_api import expect

    k, addr = kube_ui
    k.ok("apply", "-f", "-", input=HPA_AND_INGRESS)
    try:
        _hpa_status(k, 1, 2, 80, "32Mi")  # written before the page opens: it comes with the history
        page.goto(f"http://{addr}/?token={login_token(k.daemon)}")
        page.goto(f"http://{addr}/#/kube/{NS}")
        expect(page.locator("#kube-state")).to_have_attribute("data-kube", "live", timeout=10_000)
        card = page.locator('section[data-hpa="web-hpa"]')
        expect(card).to_contain_text("Deployment/shop-api · min 1 · max 6", timeout=2_000)
        cpu_plot = card.locator('div.plot[data-plot="resource/cpu"]')
        expect(cpu_plot).to_have_attribute("data-points", "2")  # created, then the status above
        expect(card).to_have_attribute("data-desired", "2")
        cpu = card.locator('tr[data-metric="resource/cpu"]')
        expect(cpu).to_contain_text("80%")
        expect(cpu).to_contain_text("50%")
        expect(card.locator('tr[data-metric="resource/memory"]')).to_contain_text("32Mi")
        expect(cpu_plot.locator("canvas")).to_be_visible()
        expect(cpu_plot.locator(".u-title")).to_have_text("cpu utilization")
        expect(card.locator('div.plot[data-plot="replicas"]')).to_have_attribute("data-points", "2")

        _hpa_status(k, 2, 6, 95, "48Mi")  # live: one more point on every plot
        expect(cpu_plot).to_have_attribute("data-points", "3", timeout=2_000)
        expect(cpu_plot).to_have_attribute("aria-label", re.compile("now 95% against a target of 50%"))
        expect(card).to_have_attribute("data-current", "2")
        expect(card).to_contain_text("→ 6 desired")
        expect(card.locator('ul.conditions li[data-condition="ScalingLimited"]')).to_contain_text("TooManyReplicas")
        stored = json.loads(k.ok("get", "--raw", f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/web-hpa"))
        assert stored["status"]["desiredReplicas"] == 6
        page.reload()  # the history survives the page: the server kept it
        expect(cpu_plot).to_have_attribute("data-points", "3", timeout=10_000)
        # An autoscaling/v1 HPA (what kubectl autoscale makes) is shown in v2's terms.
        k.ok("apply", "-f", "-", input=json.dumps({
            "apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "old-style", "namespace": NS},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "shop-api"},
                     "maxReplicas": 4, "targetCPUUtilizationPercentage": 60}}))
        old = page.locator('section[data-hpa="old-style"] tr[data-metric="resource/cpu"]')
        expect(old).to_have_attribute("data-target", "60", timeout=2_000)
        expect(page.locator("section[data-hpa]").first).to_have_attribute("data-hpa", "old-style")  # by name

        ing = page.locator('section[data-ingress="shop"]')
        expect(ing).to_have_attribute("data-class", "elsewhere")
        api = ing.locator('tr[data-host="shop.example.com"][data-path="/api"]')
        expect(api).to_have_attribute("data-backend", "api:80")
        expect(api).to_contain_text("Prefix")
        expect(api.get_by_role("link", name="shop.example.com")).to_have_attribute("href", "https://shop.example.com/api")
        expect(ing.locator('tr[data-path="/"]')).to_have_attribute("data-backend", "front:http")
        expect(ing.locator('li[data-secret="shop-tls"]')).to_contain_text("shop.example.com")
        expect(ing).to_contain_text("none yet")
        status = {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}
        k.ok("patch", "ingress", "shop", "-n", NS, "--subresource=status", "--type=merge", "-p", json.dumps(status))
        expect(ing).to_have_attribute("data-address", "192.0.2.10", timeout=2_000)
        # A rule without a host is reached at the address.
        expect(ing.locator('tr[data-host=""][data-path="/status"] a')).to_have_attribute("href", "http://192.0.2.10/status")
        fallback = page.locator('section[data-ingress="fallback"]')
        expect(fallback.locator("[data-default-backend]")).to_have_attribute("data-default-backend", "front:80")
        expect(fallback).to_contain_text("No rules.")
        # The links are reached from the keyboard, as every link.
        link = api.get_by_role("link")
        link.focus()
        expect(link).to_be_focused()
        _shot(page, tmp_path, "kube-ingress")
        page.locator("#kube-hpas").evaluate("e => e.scrollIntoView({block: 'start'})")
        _shot(page, tmp_path, "kube-hpa")

        page.set_viewport_size({"width": 390, "height": 844})
        expect(card).to_be_visible()
        for box in (card.bounding_box(), ing.bounding_box(), cpu_plot.bounding_box()):
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        page.locator("#kube-hpas").evaluate("e => e.scrollIntoView({block: 'start'})")
        _shot(page, tmp_path, "kube-hpa-phone")
    finally:
        k.ok("delete", "hpa", "web-hpa", "old-style", "-n", NS, "--ignore-not-found")
        k.ok("delete", "ingress", "shop", "fallback", "-n", NS, "--ignore-not-found")
    expect(page.locator('section[data-hpa="web-hpa"]')).to_have_count(0, timeout=2_000)
    expect(page.locator('section[data-ingress="shop"]')).to_have_count(0)


@pytest.fixture
def plain_ui() -> Iterator[tuple[Daemon, str]]:
    """A dashboard without the Kubernetes API (new_daemon passes --kube-addr=). Requested
    before ``page``: it is destroyed after the browser closes (Playwright's sync API holds
    the thread's event loop, which the reaping of network links needs)."""
    d, addr = _ui_daemon()
    try:
        yield d, addr
    finally:
        destroy_daemon(d)


def test_without_the_kubernetes_api(plain_ui: tuple[Daemon, str], page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    d, addr = plain_ui
    cookie, _ = login(addr, d)
    resp = request(addr, "GET", "/ui/kube/namespaces", {"Cookie": cookie})
    assert resp.status == 404 and "Kubernetes API not enabled" in json.loads(resp.data)["message"]
    assert request(addr, "GET", "/ui/kube/watch", {"Cookie": cookie}).status == 404
    assert request(addr, "GET", f"/ui/kube/pods?namespace={NS}").status == 401  # the session comes first
    page.goto(f"http://{addr}/?token={login_token(d)}")
    page.goto(f"http://{addr}/#/kube")
    state = page.locator("#kube-state")
    expect(state).to_have_attribute("data-kube", "disabled", timeout=5_000)
    expect(state).to_contain_text("Kubernetes API not enabled")
    _shot(page, tmp_path, "kube-disabled")
