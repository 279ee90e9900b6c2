// The Kubernetes page: one namespace's Deployments (rollout, revisions, scale, restart),
// HorizontalPodAutoscalers with their plots (hpa.ts), Pods, Services with their endpoints,
// Ingresses (ingress.ts) and recent Events, kept live from /ui/kube/watch.
import { ApiError, api, jsonLines, onEvent, stream, ui } from "./api";
import { ago, h, toast } from "./dom";
import type { Page } from "./pages";
import { HPASection, addSample } from "./hpa";
import { ingressCard } from "./ingress";
import { confirmDialog } from "./ui";

type Obj = any;
type Store = Map<string, Map<string, Obj>>; // resource → name → object

const RESOURCES = ["namespaces", "deployments", "replicasets", "pods", "services", "endpointslices", "events",
  "horizontalpodautoscalers", "ingresses", "hpahistory"];
const REVISION = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE = "kubernetes.io/change-cause";
const MAX_EVENTS = 30;

const age = (ts?: string): string => (ts ? ago(Date.parse(ts) / 1000) : "");

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((r) => { const t = setTimeout(r, ms); signal.addEventListener("abort", () => { clearTimeout(t); r(); }); });
}

function table(label: string, heads: string[], rows: HTMLElement[], empty: string): HTMLElement {
  if (!rows.length) return h("p.note", {}, empty);
  return h("div.scroll", {}, h("table.list.k", { "aria-label": label },
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)));
}

// --- Pods ----------------------------------------------------------------------------------------

/** What kubectl's STATUS column says (its printPod, simplified): an init container's trouble as
 *  Init:<reason>, else the last container's waiting or terminated reason (Completed while
 *  another runs is Running), else the pod's reason or phase; Terminating once deleted. */
export function podStatus(p: Obj): string {
  if (p.metadata.deletionTimestamp) return "Terminating";
  for (const s of p.status?.initContainerStatuses || []) {
    const t = s.state?.terminated;
    if (t && t.exitCode === 0) continue;
    if (t) return `Init:${t.reason || "ExitCode:" + t.exitCode}`;
    if (s.state?.waiting?.reason && s.state.waiting.reason !== "PodInitializing") return `Init:${s.state.waiting.reason}`;
  }
  let reason = p.status?.reason || p.status?.phase || "Pending";
  let running = false;
  for (const s of [...(p.status?.containerStatuses || [])].reverse()) {
    const w = s.state?.waiting, t = s.state?.terminated;
    if (w?.reason) reason = w.reason;
    else if (t) reason = t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`);
    else if (s.state?.running && s.ready) running = true;
  }
  return reason === "Completed" && running ? "Running" : reason;
}

function podReady(p: Obj): string {
  const total = (p.spec?.containers || []).length;
  const ready = (p.status?.containerStatuses || []).filter((s: Obj) => s.ready).length;
  return `${ready}/${total}`;
}

function podRestarts(p: Obj): number {
  return (p.status?.containerStatuses || []).reduce((n: number, s: Obj) => n + (s.restartCount || 0), 0);
}

function podRow(p: Obj, containerId: string | undefined): HTMLElement {
  const name = p.metadata.name, status = podStatus(p), ready = podReady(p);
  const cls = status === "Running" && ready.split("/")[0] === ready.split("/")[1] ? "running"
    : /BackOff|Err|Failed|Evicted|OOM/.test(status) ? "exited" : "paused";
  return h("tr", { "data-pod": name, "data-status": status, "data-ready": ready },
    h("td", {}, containerId ? h("a", { href: `#/containers/${containerId}`, title: "Its Baleine container" }, name) : name),
    h("td", {}, h("span.state." + cls, {}, status)),
    h("td.mono", {}, ready),
    h("td.mono", {}, podRestarts(p)),
    h("td.mono", {}, p.status?.podIP || ""),
    h("td.mono", {}, p.spec?.nodeName || ""),
    h("td", { title: p.metadata.creationTimestamp }, age(p.metadata.creationTimestamp)));
}

// --- Deployments ---------------------------------------------------------------------------------

function revisions(d: Obj, replicasets: Obj[]): HTMLElement {
  const own = replicasets.filter((rs) => (rs.metadata.ownerReferences || []).some((r: Obj) => r.uid === d.metadata.uid))
    .sort((a, b) => +(b.metadata.annotations?.[REVISION] || 0) - +(a.metadata.annotations?.[REVISION] || 0));
  if (!own.length) return h("p.note", {}, "No ReplicaSet yet.");
  return h("table.history.revisions", { "aria-label": `Revisions of ${d.metadata.name}` },
    h("thead", {}, h("tr", {}, ["Revision", "ReplicaSet", "Ready", "Change cause"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, own.map((rs) => h("tr", { "data-revision": rs.metadata.annotations?.[REVISION] || "" },
      h("td", {}, rs.metadata.annotations?.[REVISION] || "?"),
      h("td.mono", {}, rs.metadata.name),
      h("td.mono", {}, `${rs.status?.readyReplicas || 0}/${rs.spec?.replicas ?? 0}`),
      h("td", {}, rs.metadata.annotations?.[CHANGE_CAUSE] || "")))));
}

/** True while the Deployment's latest template is not yet everywhere (kubectl rollout status' test). */
export function rollingOut(d: Obj): boolean {
  const want = d.spec?.replicas ?? 1, st = d.status || {};
  if ((st.observedGeneration || 0) < (d.metadata.generation || 0)) return true;
  return (st.updatedReplicas || 0) < want || (st.replicas || 0) > (st.updatedReplicas || 0) || (st.availableReplicas || 0) < (st.updatedReplicas || 0);
}

/** What the user is doing that a live re-render must keep: typed replica counts, open revision lists. */
interface Drafts { scale: Map<string, string>; open: Set<string> }

function deploymentCard(d: Obj, replicasets: Obj[], ns: string, drafts: Drafts): HTMLElement {
  const name = d.metadata.name, st = d.status || {}, want = d.spec?.replicas ?? 1;
  const input = h("input", { type: "number", min: 0, value: drafts.scale.get(name) ?? String(want), "data-key": `scale-${name}`,
    "aria-label": `Replicas of ${name}`, oninput: (e: Event) => drafts.scale.set(name, (e.target as HTMLInputElement).value) }) as HTMLInputElement;
  const scale = async (ev: Event) => {
    ev.preventDefault();
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < 0) { toast("Replicas: a whole number, 0 or more", true); return; }
    try {
      await ui("POST", `/ui/kube/deployments/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/scale`, { replicas: n });
      drafts.scale.delete(name);
      toast(`${name}: scaled to ${n}`);
    } catch (e: any) { toast(`Scale: ${e.message}`, true); }
  };
  const restart = async () => {
    if (!(await confirmDialog(`Restart every pod of ${name} (a rolling restart)?`, "Restart"))) return;
    try {
      await ui("POST", `/ui/kube/deployments/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/restart`);
      toast(`${name}: restarting`);
    } catch (e: any) { toast(`Restart: ${e.message}`, true); }
  };
  const rolling = rollingOut(d);
  return h("section.kcard", { "data-deployment": name, "data-replicas": want, "data-ready": st.readyReplicas || 0,
    "data-rolling": String(rolling), "aria-label": `Deployment ${name}` },
    h("h3", {}, name, d.spec?.paused ? h("span.state.paused", {}, " rollout paused") : ""),
    h("p.mono", {}, `ready ${st.readyReplicas || 0}/${want} · updated ${st.updatedReplicas || 0} · available ${st.availableReplicas || 0}`),
    rolling && h("p", {}, h("label", {}, "Rollout ", h("progress", { max: Math.max(want, 1), value: Math.min(st.updatedReplicas || 0, want),
      "aria-label": `Rollout of ${name}` })), ` ${st.updatedReplicas || 0} of ${want} updated`),
    h("ul.conditions", {}, (st.conditions || []).map((c: Obj) => h("li", { "data-condition": c.type, title: c.message || "" },
      h("b", {}, c.type), `=${c.status}`, c.reason ? ` (${c.reason})` : ""))),
    h("form.actions", { onsubmit: scale, "aria-label": `Scale ${name}` }, input,
      h("button", { type: "submit", "data-action": "scale" }, "Scale"),
      h("button", { type: "button", "data-action": "restart", "data-key": `restart-${name}`, onclick: restart }, "Restart")),
    // Remembered on the click (Enter and Space click a summary too), not on "toggle", which
    // comes later: a re-render in between would build the list closed again.
    h("details", { open: drafts.open.has(name) }, h("summary", { "data-key": `revisions-${name}`, onclick: (e: Event) => {
      if (((e.currentTarget as HTMLElement).parentElement as HTMLDetailsElement).open) drafts.open.delete(name);
      else drafts.open.add(name);
    } }, "Revisions"), revisions(d, replicasets)));
}

// --- Services ------------------------------------------------------------------------------------

function servicePorts(s: Obj): string {
  return (s.spec?.ports || []).map((p: Obj) => `${p.port}${p.nodePort ? ":" + p.nodePort : ""}/${p.protocol || "TCP"}`).join(", ");
}

/** Ready addresses (ip:port) of a Service's EndpointSlices. */
export function readyEndpoints(name: string, slices: Obj[]): string[] {
  const out = new Set<string>(); // a slice the controller manages and another one may repeat an address
  for (const sl of slices.filter((x) => x.metadata.labels?.["kubernetes.io/service-name"] === name)) {
    const ports: Obj[] = sl.ports?.length ? sl.ports : [{}];
    for (const ep of sl.endpoints || []) {
      if (ep.conditions?.ready === false) continue;
      for (const a of ep.addresses || []) for (const p of ports) out.add(p.port ? `${a}:${p.port}` : a);
    }
  }
  return [...out].sort();
}

/** A Service's outside addresses: spec.externalIPs and a load balancer's ingress. */
function externalIPs(s: Obj): string[] {
  return [...(s.spec?.externalIPs || []), ...(s.status?.loadBalancer?.ingress || []).map((i: Obj) => i.ip || i.hostname)];
}

function serviceRow(s: Obj, slices: Obj[]): HTMLElement {
  const eps = readyEndpoints(s.metadata.name, slices);
  return h("tr", { "data-service": s.metadata.name, "data-endpoints": eps.join(" ") },
    h("td", {}, s.metadata.name), h("td", {}, s.spec?.type || "ClusterIP"),
    h("td.mono", {}, [s.spec?.clusterIP || "", ...externalIPs(s)].filter(Boolean).join(", ")),
    h("td.mono", {}, servicePorts(s)), h("td.mono", {}, eps.length ? eps.join(", ") : h("span.note", {}, "none ready")));
}

// --- Events --------------------------------------------------------------------------------------

const eventTime = (e: Obj): string => e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp || "";

function eventRows(events: Obj[]): HTMLElement[] {
  return events.sort((a, b) => eventTime(b).localeCompare(eventTime(a))).slice(0, MAX_EVENTS).map((e) =>
    h("tr", { "data-event": e.reason || "" },
      h("td", { title: eventTime(e) }, age(eventTime(e))),
      h("td", {}, h("span" + (e.type === "Warning" ? ".health.unhealthy" : ""), {}, e.type || "")),
      h("td", {}, e.reason || ""),
      h("td.mono", {}, `${(e.involvedObject?.kind || "").toLowerCase()}/${e.involvedObject?.name || ""}`),
      h("td", {}, e.message || "", (e.count || 1) > 1 ? ` (×${e.count})` : "")));
}

// --- The page ------------------------------------------------------------------------------------

/** Pod name → id of its Baleine app container (the one with the highest restart count). */
async function podContainers(ns: string): Promise<Map<string, string>> {
  const filters = JSON.stringify({ label: [`io.kubernetes.pod.namespace=${ns}`, "io.kubernetes.docker.type=container"] });
  const cs: Obj[] = await api("GET", "/containers/json?all=1&filters=" + encodeURIComponent(filters));
  const best = new Map<string, [number, string]>();
  for (const c of cs) {
    const pod = c.Labels["io.kubernetes.pod.name"], n = +(c.Labels["io.kubernetes.container.restartCount"] || 0);
    if (pod && (!best.has(pod) || best.get(pod)![0] < n)) best.set(pod, [n, c.Id]);
  }
  return new Map([...best].map(([pod, [, id]]) => [pod, id]));
}

/** Replace `el`'s children, keeping keyboard focus on the element with the same data-key. */
function rerender(el: HTMLElement, ...nodes: Node[]): void {
  const key = (document.activeElement as HTMLElement | null)?.dataset?.key;
  el.replaceChildren(...nodes);
  if (key) el.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

export const kube: Page = (main, params, signal) => {
  const ns = decodeURIComponent(params[0] || "default");
  const select = h("select", { id: "kube-ns", "aria-label": "Namespace", onchange: (e: Event) => {
    location.hash = `#/kube/${encodeURIComponent((e.target as HTMLSelectElement).value)}`;
  } }, h("option", { value: ns, selected: true }, ns)) as HTMLSelectElement;
  const state = h("p.note", { role: "status", id: "kube-state" }, "Connecting to the Kubernetes API…");
  const hpas = new HPASection(signal);
  const sections = { deployments: h("div.kcards"), pods: h("div"), services: h("div"), ingresses: h("div.kcards.ingresses"), events: h("div") };
  main.append(h("h1", {}, "Kubernetes"), h("div.toolbar", {}, h("label", { for: "kube-ns" }, "Namespace "), select), state,
    h("div", { id: "kube-body", hidden: true },
      h("h2", {}, "Deployments"), sections.deployments, h("h2", { id: "kube-hpas" }, "Horizontal Pod Autoscalers"), hpas.el,
      h("h2", {}, "Pods"), sections.pods, h("h2", {}, "Services"), sections.services,
      h("h2", { id: "kube-ingresses" }, "Ingresses"), sections.ingresses, h("h2", {}, "Recent events"), sections.events));
  const store: Store = new Map(RESOURCES.map((r) => [r, new Map()]));
  const drafts: Drafts = { scale: new Map(), open: new Set() };
  let containers = new Map<string, string>();
  const all = (r: string): Obj[] => [...store.get(r)!.values()];
  const byName = (a: Obj, b: Obj) => a.metadata.name.localeCompare(b.metadata.name);

  const render = () => {
    if (store.get("namespaces")!.size) showNamespaces([...store.get("namespaces")!.keys()]);
    const rss = all("replicasets"), slices = all("endpointslices");
    const deps = all("deployments").sort(byName);
    rerender(sections.deployments, ...(deps.length ? deps.map((d) => deploymentCard(d, rss, ns, drafts)) : [h("p.note", {}, "No Deployments.")]));
    rerender(sections.pods, table("Pods", ["Name", "Status", "Ready", "Restarts", "IP", "Node", "Age"],
      all("pods").sort(byName).map((p) => podRow(p, containers.get(p.metadata.name))), "No Pods."));
    rerender(sections.services, table("Services", ["Name", "Type", "Cluster IP / external", "Ports", "Ready endpoints"],
      all("services").sort(byName).map((s) => serviceRow(s, slices)), "No Services."));
    hpas.update(all("horizontalpodautoscalers").sort(byName), store.get("hpahistory")!);
    const ings = all("ingresses").sort(byName);
    rerender(sections.ingresses, ...(ings.length ? ings.map(ingressCard) : [h("p.note", {}, "No Ingresses.")]));
    rerender(sections.events, table("Recent events", ["Age", "Type", "Reason", "Object", "Message"], eventRows(all("events")), "No events."));
  };
  let timer = 0;
  const later = () => { clearTimeout(timer); timer = window.setTimeout(() => { if (!signal.aborted) render(); }, 50); };
  const loadContainers = async () => { try { containers = await podContainers(ns); later(); } catch { /* the engine's events retry */ } };
  const off = onEvent((ev) => { if (ev.Type === "container" && ev.Actor?.Attributes?.["io.kubernetes.pod.namespace"] === ns) loadContainers(); });
  signal.addEventListener("abort", () => { off(); clearTimeout(timer); });

  let shown = "";
  /** The selector's options; rebuilt only when the set changes (an open list stays open). */
  const showNamespaces = (names: string[]) => {
    const all = [...new Set([...names, ns])].sort();
    if (all.join("\n") === shown) return;
    shown = all.join("\n");
    select.replaceChildren(...all.map((n) => h("option", { value: n, selected: n === ns }, n)));
  };
  const loadNamespaces = async (): Promise<boolean> => {
    try {
      const list: Obj = await ui("GET", "/ui/kube/namespaces");
      showNamespaces(list.items.map((n: Obj) => n.metadata.name));
      return true;
    } catch (e: any) {
      if (e instanceof ApiError && e.status === 404) {
        state.textContent = "Kubernetes API not enabled: start the daemon with --kube-addr to serve it.";
        state.dataset.kube = "disabled";
        select.disabled = true;
        throw e;
      }
      state.textContent = e instanceof ApiError && e.status === 503 ? "The Kubernetes API is starting…" : `Kubernetes API: ${e.message}`;
      return false;
    }
  };

  (async () => {
    let delay = 500;
    while (!signal.aborted) {
      try { if (!(await loadNamespaces())) { await sleep(delay, signal); continue; } } catch { return; }
      loadContainers();
      const q = `namespace=${encodeURIComponent(ns)}&resources=${RESOURCES.join(",")}`;
      try {
        await stream("GET", `/ui/kube/watch?${q}`, jsonLines((ev) => {
          const m = store.get(ev.resource);
          if (!m) return;
          if (ev.type === "SAMPLE") { // hpahistory: one more point of a series
            const series = m.get(ev.object.metadata.name);
            if (series?.metadata.uid === ev.object.metadata.uid) for (const s of ev.object.samples) addSample(series.samples, s);
            else m.set(ev.object.metadata.name, ev.object);
          } else if (ev.type === "DELETED") m.delete(ev.object.metadata.name); else m.set(ev.object.metadata.name, ev.object);
          later();
        }), signal, () => {
          delay = 500;
          store.forEach((m) => m.clear()); // the stream starts over with everything ADDED
          state.textContent = `Namespace ${ns}: live`;
          state.dataset.kube = "live";
          document.getElementById("kube-body")!.hidden = false;
          later();
        });
      } catch (e) { console.warn("kube watch", e); /* dropped: reconnect */ }
      if (signal.aborted) return;
      state.textContent = "Reconnecting to the Kubernetes API…";
      state.dataset.kube = "down";
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  })();
};
