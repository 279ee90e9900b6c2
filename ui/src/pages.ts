// The list pages: Overview, Containers, Compose, Images, Networks, Volumes.
import { api, jsonLines, onEvent, stream, ui } from "./api";
import { ago, bytes, h, toast } from "./dom";
import { actionButtons, confirmDialog, containerActions, health, jsonView, portLinks } from "./ui";

export type Page = (main: HTMLElement, params: string[], signal: AbortSignal) => void;

/** Calls `load` now and after matching events (debounced), until `signal` aborts. */
function live(signal: AbortSignal, types: string[], load: () => Promise<void> | void): void {
  let timer = 0;
  const again = () => { clearTimeout(timer); timer = window.setTimeout(() => { if (!signal.aborted) load(); }, 100); };
  const off = onEvent((ev) => { if (types.includes(ev.Type)) again(); });
  window.addEventListener("baleine:reconnected", again);
  signal.addEventListener("abort", () => { off(); clearTimeout(timer); window.removeEventListener("baleine:reconnected", again); });
  load();
}

function replace(el: HTMLElement, ...nodes: (Node | string)[]): void { el.replaceChildren(...nodes); }

export const overview: Page = (main, _p, signal) => {
  const counts = h("div.cards", { "aria-label": "Containers by state" });
  const df = h("div.cards", { "aria-label": "Disk use" });
  const events = h("ol.events", { "aria-live": "polite", "aria-label": "Recent events" });
  main.append(h("h1", {}, "Overview"), h("h2", {}, "Containers"), counts, h("h2", {}, "Disk use"), df,
    h("h2", {}, "Recent events"), events);
  live(signal, ["container"], async () => {
    const cs: any[] = await api("GET", "/containers/json?all=1");
    const n = (f: (c: any) => boolean) => cs.filter(f).length;
    replace(counts, ...[["total", cs.length], ["running", n((c) => c.State === "running")],
      ["paused", n((c) => c.State === "paused")], ["restarting", n((c) => c.State === "restarting")],
      ["exited", n((c) => c.State === "exited" || c.State === "created")],
      ["unhealthy", n((c) => health(c.Status) === "unhealthy")]]
      .map(([k, v]) => h("div.card", { "data-count": k }, h("strong", {}, v), h("span", {}, k))));
  });
  live(signal, ["image", "volume", "container"], async () => {
    const d: any = await api("GET", "/system/df");
    const sum = (xs: any[], f: (x: any) => number) => (xs || []).reduce((a, x) => a + (f(x) || 0), 0);
    replace(df,
      h("div.card", {}, h("strong", {}, bytes(d.LayersSize)), h("span", {}, `${(d.Images || []).length} images`)),
      h("div.card", {}, h("strong", {}, bytes(sum(d.Containers, (c) => c.SizeRw))), h("span", {}, `${(d.Containers || []).length} containers`)),
      h("div.card", {}, h("strong", {}, bytes(sum(d.Volumes, (v) => v.UsageData?.Size))), h("span", {}, `${(d.Volumes || []).length} volumes`)),
      h("div.card", {}, h("strong", {}, bytes(sum(d.BuildCache, (b) => b.Size))), h("span", {}, "build cache")));
  });
  const show = (ev: any) => {
    const name = ev.Actor?.Attributes?.name || (ev.Actor?.ID || "").slice(0, 12);
    events.prepend(h("li", {}, h("time", {}, new Date((ev.time || 0) * 1000).toLocaleTimeString()), ` ${ev.Type} ${ev.Action} `, h("b", {}, name)));
    while (events.children.length > 50) events.lastChild!.remove();
  };
  // The last hour's events first (a bounded query), then the live stream's.
  const now = Math.floor(Date.now() / 1000);
  const off = onEvent(show);
  stream("GET", `/events?since=${now - 3600}&until=${now}`, jsonLines(show), signal).catch(() => undefined);
  signal.addEventListener("abort", off);
};

/** CPU % as docker stats computes it. */
export function cpuPercent(s: any): number {
  const cpu = (s.cpu_stats?.cpu_usage?.total_usage || 0) - (s.precpu_stats?.cpu_usage?.total_usage || 0);
  const sys = (s.cpu_stats?.system_cpu_usage || 0) - (s.precpu_stats?.system_cpu_usage || 0);
  const n = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  return sys > 0 && cpu > 0 ? (cpu / sys) * n * 100 : 0;
}

export function memUsed(s: any): number {
  const st = s.memory_stats || {};
  return Math.max(0, (st.usage || 0) - (st.stats?.inactive_file || 0));
}

export const containers: Page = (main, _p, signal) => {
  const search = h("input", { type: "search", placeholder: "Filter by name, image, state…", "aria-label": "Filter containers" }) as HTMLInputElement;
  const all = h("input", { type: "checkbox", checked: true, id: "show-all" }) as HTMLInputElement;
  const body = h("tbody");
  const usage = new Map<string, string>();
  let rows: any[] = [];
  main.append(h("h1", {}, "Containers"),
    h("div.toolbar", {}, search, h("label", { for: "show-all" }, all, " show stopped")),
    h("div.scroll", {}, h("table.list", { "aria-label": "Containers" },
      h("thead", {}, h("tr", {}, ["Name", "Image", "State", "Ports", "CPU / memory", "Up", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      body)));
  const render = () => {
    const q = search.value.toLowerCase();
    replace(body, ...rows.filter((c) => all.checked || c.State === "running")
      .filter((c) => !q || `${c.Names[0]} ${c.Image} ${c.State} ${c.Status}`.toLowerCase().includes(q))
      .map((c) => {
        const name = c.Names[0].replace(/^\//, ""), hl = health(c.Status);
        return h("tr", { "data-name": name, "data-state": c.State },
          h("td", {}, h("a", { href: `#/containers/${c.Id}` }, name)),
          h("td.mono", {}, c.Image),
          h("td", {}, h("span.state." + c.State, {}, c.State), hl && h("span.health." + hl, {}, hl)),
          h("td", {}, portLinks(c.Ports)),
          h("td.mono", {}, c.State === "running" ? usage.get(c.Id) || "…" : ""),
          h("td", { title: c.Status }, c.State === "running" ? ago(c.Created) : c.Status),
          h("td", {}, actionButtons(containerActions(c.Id, c.State), load)));
      }));
  };
  const load = async () => { rows = await api("GET", "/containers/json?all=1"); render(); };
  search.addEventListener("input", render);
  all.addEventListener("change", render);
  live(signal, ["container"], load);
  // CPU and memory: one-shot samples in turn (one connection, not one stream per row: a
  // browser opens 6 per host); CPU % from this sample and the row's previous one.
  const previous = new Map<string, any>();
  (async () => {
    while (!signal.aborted) {
      for (const c of rows.filter((r) => r.State === "running").slice(0, 50)) {
        if (signal.aborted) return;
        try {
          const s: any = await api("GET", `/containers/${c.Id}/stats?stream=0&one-shot=1`);
          const prev = previous.get(c.Id);
          previous.set(c.Id, s);
          if (prev) s.precpu_stats = prev.cpu_stats;
          usage.set(c.Id, `${prev ? cpuPercent(s).toFixed(1) + "%" : "…"} · ${bytes(memUsed(s))}`);
        } catch { /* gone */ }
      }
      render();
      await new Promise((r) => setTimeout(r, 3000));
    }
  })();
};

/** Compose's colours per service, in docker compose's order. */
const SERVICE_COLORS = ["#0aa", "#a80", "#2a2", "#a2a", "#36c", "#0cc", "#cc0", "#4c4", "#c4c", "#58f"];

/** A project's services' logs, interleaved as they come, one colour per service. */
function composeLogs(project: string, signal: AbortSignal): HTMLElement {
  const out = h("ol.compose-logs", { "aria-live": "polite", "aria-label": `Logs of ${project}`, "data-logs": project });
  const colors = new Map<string, string>();
  stream("GET", `/ui/compose/logs?project=${encodeURIComponent(project)}&tail=100`, jsonLines((d) => {
    if (!colors.has(d.service)) colors.set(d.service, SERVICE_COLORS[colors.size % SERVICE_COLORS.length]);
    out.append(h("li" + (d.stream === "stderr" ? ".stderr" : ""), { "data-service": d.service },
      h("span.svc", { style: `color:${colors.get(d.service)}` }, `${d.container} | `), d.text));
    while (out.children.length > 2000) out.firstChild!.remove();
    out.scrollTop = out.scrollHeight;
  }), signal).catch(() => undefined);
  return out;
}

/** A balanced group's state beside its service's name: ready members of all, and its virtual addresses. */
function balancedNote(g: any): HTMLElement | string {
  if (!g) return "";
  const vips = (g.VirtualIPs || []).map((v: any) => v.Address).join(", ");
  return h("span.balanced", { title: `virtual address ${vips}` }, ` (balanced: ${g.Ready}/${(g.Members || []).length} ready)`);
}

/** A balanced group's published ports, as links like a container's own. */
function groupPortLinks(g: any): HTMLElement | string {
  if (!g) return "";
  return portLinks((g.Ports || []).filter((p: any) => p.HostPort).map((p: any) => ({ PublicPort: p.HostPort, PrivatePort: p.Port, Type: p.Protocol })));
}

export const compose: Page = (main, _p, signal) => {
  const list = h("div");
  const name = h("input", { placeholder: "project name", "aria-label": "Project name", required: true, pattern: "[a-z0-9][a-z0-9_-]*" }) as HTMLInputElement;
  const file = h("textarea", { rows: 8, cols: 60, "aria-label": "Compose file", placeholder: "services:\n  web:\n    image: nginx", required: true }) as HTMLTextAreaElement;
  const output = h("pre.output", { "aria-live": "polite" });
  const run = async (verb: "up" | "down", project: string, yaml?: string) => {
    output.textContent = `${verb === "up" ? "Bringing up" : "Taking down"} ${project}…`;
    try {
      const r: any = await ui("POST", `/ui/compose/${verb}`, yaml === undefined ? { project } : { project, yaml });
      output.textContent = r.output;
      toast(`${project}: ${verb} done`);
    } catch (e: any) { output.textContent = e.message; toast(e.message, true); }
  };
  const newProject = h("form.compose-new", { "aria-label": "Bring a project up", onsubmit: (ev: Event) => {
    ev.preventDefault(); run("up", name.value.trim(), file.value);
  } }, h("h2", {}, "Up from a compose file"), h("label", {}, "Project ", name), file, h("button", { type: "submit", "data-action": "up" }, "Up"));
  main.append(h("h1", {}, "Compose projects"), list, newProject, output);
  const openLogs = new Map<string, AbortController>();
  signal.addEventListener("abort", () => openLogs.forEach((c) => c.abort()));
  live(signal, ["container"], async () => {
    const cs: any[] = await api("GET", "/containers/json?all=1&filters=" + encodeURIComponent(JSON.stringify({ label: ["com.docker.compose.project"] })));
    // replicated services publish their port once, on the balanced group, not on each replica
    const groups = new Map<string, any>(((await api<any[]>("GET", "/baleine/balancers").catch(() => [])) || []).map((g: any) => [g.Name, g]));
    const projects = new Map<string, Map<string, any[]>>();
    for (const c of cs) {
      const p = c.Labels["com.docker.compose.project"], s = c.Labels["com.docker.compose.service"] || "?";
      if (!projects.has(p)) projects.set(p, new Map());
      const svc = projects.get(p)!;
      svc.set(s, [...(svc.get(s) || []), c]);
    }
    for (const [p, ctl] of openLogs) if (!projects.has(p)) { ctl.abort(); openLogs.delete(p); }
    if (!projects.size) { replace(list, h("p", {}, "No compose project runs here.")); return; }
    replace(list, ...[...projects].sort().map(([p, svcs]) => {
      const ids = [...svcs.values()].flat().map((c) => c.Id);
      const bulk = (verb: string, label: string, confirm?: string) => h("button" + (confirm ? ".danger" : ""), {
        type: "button", "data-bulk": verb, onclick: async () => {
          if (confirm && !(await confirmDialog(confirm, label))) return;
          await Promise.all(ids.map(async (id) => {
            try { await api(verb === "remove" ? "DELETE" : "POST", verb === "remove" ? `/containers/${id}?force=1` : `/containers/${id}/${verb}`); } catch (e: any) { if (e.status !== 304) toast(e.message, true); }
          }));
        } }, label);
      const logsBox = h("div.logs-box");
      const logsButton = h("button", { type: "button", "data-bulk": "logs", "aria-expanded": openLogs.has(p) ? "true" : "false", onclick: () => {
        const ctl = openLogs.get(p);
        if (ctl) { ctl.abort(); openLogs.delete(p); logsBox.replaceChildren(); logsButton.setAttribute("aria-expanded", "false"); return; }
        const c = new AbortController();
        openLogs.set(p, c);
        logsBox.replaceChildren(composeLogs(p, c.signal));
        logsButton.setAttribute("aria-expanded", "true");
      } }, "Logs");
      if (openLogs.has(p)) {  // a live reload keeps the open stream: restart it in the new box
        openLogs.get(p)!.abort();
        const c = new AbortController();
        openLogs.set(p, c);
        logsBox.replaceChildren(composeLogs(p, c.signal));
      }
      return h("section.project", { "data-project": p, "aria-label": `Project ${p}` },
        h("h2", {}, p, " ",
          h("button", { type: "button", "data-bulk": "up", onclick: () => run("up", p) }, "Up"),
          h("button.danger", { type: "button", "data-bulk": "down", onclick: async () => {
            if (await confirmDialog(`Take ${p} down (its containers and networks)?`, "Down")) run("down", p);
          } }, "Down"),
          bulk("start", "Start all"), bulk("stop", "Stop all"), bulk("remove", "Remove all", `Remove every container of ${p}?`), logsButton),
        h("table.list", {}, h("thead", {}, h("tr", {}, ["Service", "Container", "State", "Ports", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, [...svcs].sort().flatMap(([s, cl]) => cl.map((c) => h("tr", { "data-name": c.Names[0].slice(1) },
            h("td", {}, s, balancedNote(groups.get(`${p}_${s}`))), h("td", {}, h("a", { href: `#/containers/${c.Id}` }, c.Names[0].slice(1))),
            h("td", {}, h("span.state." + c.State, {}, c.State), " ", health(c.Status)),
            h("td", {}, portLinks(c.Ports), groupPortLinks(groups.get(`${p}_${s}`))),
            h("td", {}, actionButtons(containerActions(c.Id, c.State)))))))),
        logsBox);
    }));
  });
};

export const images: Page = (main, _p, signal) => {
  const body = h("tbody");
  const ref = h("input", { placeholder: "image to pull, e.g. alpine:3.20", "aria-label": "Image to pull", required: true }) as HTMLInputElement;
  const progress = h("ul.progress", { "aria-live": "polite" });
  const pull = async (ev: Event) => {
    ev.preventDefault();
    const [name, tag] = splitRef(ref.value.trim());
    const layers = new Map<string, HTMLElement>();
    progress.replaceChildren();
    try {
      await stream("POST", `/images/create?fromImage=${encodeURIComponent(name)}&tag=${encodeURIComponent(tag)}`, jsonLines((m) => {
        if (m.error) { toast(m.error, true); return; }
        const key = m.id || m.status;
        let li = layers.get(key);
        if (!li) { li = h("li"); layers.set(key, li); progress.append(li); }
        const pct = m.progressDetail?.total ? Math.round((100 * m.progressDetail.current) / m.progressDetail.total) : null;
        li.replaceChildren(h("span.mono", {}, m.id || ""), ` ${m.status} `, pct !== null ? h("progress", { max: 100, value: pct }) : "");
      }), signal);
    } catch (e: any) { toast(e.message, true); }
  };
  main.append(h("h1", {}, "Images"), h("form.toolbar", { onsubmit: pull }, ref, h("button", { type: "submit" }, "Pull")), progress,
    h("div.scroll", {}, h("table.list", { "aria-label": "Images" },
      h("thead", {}, h("tr", {}, ["Tags", "ID", "Size", "Created", "Containers", ""].map((t) => h("th", { scope: "col" }, t)))), body)));
  const expanded = new Set<string>();
  live(signal, ["image", "container"], async () => {
    const [imgs, cs]: any[] = await Promise.all([api("GET", "/images/json"), api("GET", "/containers/json?all=1")]);
    replace(body, ...imgs.map((i: any) => {
      const users = cs.filter((c: any) => c.ImageID === i.Id).map((c: any) => c.Names[0].slice(1));
      const tags = h("details", {}, h("summary", {}, (i.RepoTags || ["<none>"]).join(", "))) as HTMLDetailsElement;
      tags.addEventListener("toggle", async () => {  // layers and history, on demand
        if (tags.open) expanded.add(i.Id); else expanded.delete(i.Id);
        if (!tags.open || tags.children.length > 1) return;
        const hist: any[] = await api("GET", `/images/${encodeURIComponent(i.Id)}/history`);
        tags.append(h("table.history", { "aria-label": "History" }, h("tbody", {}, hist.map((l) =>
          h("tr", {}, h("td", {}, bytes(l.Size)), h("td.mono", {}, (l.CreatedBy || "").replace(/^\/bin\/sh -c #\(nop\)\s*/, "")))))));
      });
      tags.open = expanded.has(i.Id);  // live reloads keep what the user opened
      return h("tr", { "data-name": (i.RepoTags || [i.Id]).join(" ") }, h("td", {}, tags), h("td.mono", {}, i.Id.replace("sha256:", "").slice(0, 12)),
        h("td", {}, bytes(i.Size)), h("td", {}, ago(i.Created) + " ago"), h("td", {}, users.join(", ")),
        h("td", {}, h("button.danger", { type: "button", "data-action": "remove", onclick: async () => {
          if (!(await confirmDialog(`Remove image ${(i.RepoTags || [i.Id])[0]}?`, "Remove"))) return;
          try { await api("DELETE", `/images/${encodeURIComponent(i.Id)}`); } catch (e: any) { toast(e.message, true); }
        } }, "Remove")));
    }));
  });
};

function splitRef(ref: string): [string, string] {
  const at = ref.indexOf("@");
  if (at >= 0) return [ref, ""];
  const i = ref.lastIndexOf(":");
  return i > ref.lastIndexOf("/") ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, "latest"];
}

/** Networks and volumes share a shape: list, inspect, create, remove. */
function resourcePage(kind: "networks" | "volumes"): Page {
  return (main, _p, signal) => {
    const body = h("tbody");
    const name = h("input", { placeholder: "name", "aria-label": "Name", required: true }) as HTMLInputElement;
    const driver = h("input", { placeholder: kind === "networks" ? "bridge" : "local", "aria-label": "Driver" }) as HTMLInputElement;
    const create = async (ev: Event) => {
      ev.preventDefault();
      try {
        await api("POST", `/${kind}/create`, { Name: name.value.trim(), Driver: driver.value.trim() || undefined });
        name.value = ""; load();
      } catch (e: any) { toast(e.message, true); }
    };
    const title = kind === "networks" ? "Networks" : "Volumes";
    main.append(h("h1", {}, title), h("form.toolbar", { onsubmit: create }, name, driver, h("button", { type: "submit" }, "Create")),
      h("div.scroll", {}, h("table.list", { "aria-label": title },
        h("thead", {}, h("tr", {}, ["Name", "Driver", kind === "networks" ? "Subnet" : "Mountpoint", "Used by", ""].map((t) => h("th", { scope: "col" }, t)))), body)));
    const expanded = new Set<string>();
    const load = async () => {
      const [res, cs]: any[] = await Promise.all([api("GET", `/${kind}`), api("GET", "/containers/json?all=1")]);
      const items: any[] = kind === "volumes" ? res.Volumes || [] : res;
      replace(body, ...items.map((x) => {
        const users = cs.filter((c: any) => kind === "networks"
          ? Object.values(c.NetworkSettings?.Networks || {}).some((n: any) => n.NetworkID === x.Id)
          : (c.Mounts || []).some((m: any) => m.Name === x.Name)).map((c: any) => c.Names[0].slice(1));
        const id = kind === "networks" ? x.Id : x.Name;
        const details = h("details", {}, h("summary", {}, x.Name)) as HTMLDetailsElement;
        details.addEventListener("toggle", async () => {
          if (details.open) expanded.add(id); else expanded.delete(id);
          if (details.open && details.children.length === 1) details.append(jsonView(await api("GET", `/${kind}/${encodeURIComponent(id)}`)));
        });
        details.open = expanded.has(id);  // live reloads keep what the user opened
        return h("tr", { "data-name": x.Name }, h("td", {}, details), h("td", {}, x.Driver),
          h("td.mono", {}, kind === "networks" ? (x.IPAM?.Config || []).map((c: any) => c.Subnet).join(", ") : x.Mountpoint),
          h("td", {}, users.join(", ")),
          h("td", {}, h("button.danger", { type: "button", "data-action": "remove", onclick: async () => {
            if (!(await confirmDialog(`Remove ${kind === "networks" ? "network" : "volume"} ${x.Name}?`, "Remove"))) return;
            try { await api("DELETE", `/${kind}/${encodeURIComponent(id)}`); load(); } catch (e: any) { toast(e.message, true); }
          } }, "Remove")));
      }));
    };
    live(signal, [kind === "networks" ? "network" : "volume", "container"], load);
  };
}

export const networks = resourcePage("networks");
export const volumes = resourcePage("volumes");
