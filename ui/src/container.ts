// One container: inspect, live logs, live stats plot, terminal.
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import uPlot from "uplot";
import { api, demux, jsonLines, onEvent, stream } from "./api";
import { bytes, h, toast } from "./dom";
import { cpuPercent, memUsed, type Page } from "./pages";
import { actionButtons, containerActions, jsonView, maskEnv } from "./ui";

const TABS = ["inspect", "logs", "stats", "terminal"] as const;
const MAX_LINES = 5000;
const WINDOW = 600; // seconds of stats kept: the last 10 minutes

export const container: Page = (main, params, signal) => {
  const [id, tab = "logs"] = params;
  const head = h("div.head");
  const panel = h("section.panel", { id: "panel", role: "tabpanel" });
  main.append(head, h("nav.tabs", { role: "tablist", "aria-label": "Container views" },
    TABS.map((t) => h("a", { href: `#/containers/${id}/${t}`, role: "tab", "aria-selected": String(t === tab) }, t))), panel);
  const loadHead = async () => {
    try {
      const c: any = await api("GET", `/containers/${id}/json`);
      head.replaceChildren(h("h1", {}, c.Name.replace(/^\//, "")), h("p.mono", {}, c.Config.Image, " · ", h("span.state." + c.State.Status, {}, c.State.Status),
        c.State.Health ? ` · ${c.State.Health.Status}` : ""), actionButtons(containerActions(c.Id, c.State.Status), loadHead));
    } catch (e: any) { head.replaceChildren(h("h1", {}, "Container"), h("p", { role: "alert" }, e.message)); }
  };
  loadHead();
  const off = onEvent((ev) => { if (ev.Type === "container" && (ev.Actor?.ID || "").startsWith(id)) loadHead(); });
  signal.addEventListener("abort", off);
  ({ inspect, logs, stats, terminal } as Record<string, (p: HTMLElement, id: string, s: AbortSignal) => void>)[tab]?.(panel, id, signal);
};

async function inspect(panel: HTMLElement, id: string): Promise<void> {
  const c: any = await api("GET", `/containers/${id}/json`);
  c.Config.Env = maskEnv(c.Config.Env || []);
  panel.append(
    h("h2", {}, "Environment"), h("ul.mono.env", {}, c.Config.Env.map((e: string) => h("li", {}, e))),
    h("h2", {}, "Mounts"), jsonView(c.Mounts), h("h2", {}, "Networks"), jsonView(c.NetworkSettings?.Networks),
    h("details", {}, h("summary", {}, "Full inspect"), jsonView(c)));
}

function logs(panel: HTMLElement, id: string, signal: AbortSignal): void {
  const out = h("pre.logs", { tabindex: 0, "aria-label": "Logs", "aria-live": "off" });
  const search = h("input", { type: "search", placeholder: "Search logs", "aria-label": "Search logs" }) as HTMLInputElement;
  const follow = h("input", { type: "checkbox", checked: true, id: "follow" }) as HTMLInputElement;
  const stamps = h("input", { type: "checkbox", id: "stamps" }) as HTMLInputElement;
  // Lines are kept as data (the last MAX_LINES, for the download) and become DOM nodes only
  // in the next animation frame after they arrive (one flush a frame however many came),
  // at most MAX_LINES of them: a container printing fast must not freeze the page, and a
  // single line shows within a frame.
  type Line = { s: number; t: string; text: string };
  let lines: Line[] = [];
  let pending: Line[] = [];
  const trim = (xs: Line[]) => (xs.length > 2 * MAX_LINES ? xs.slice(-MAX_LINES) : xs);
  const lineEl = (l: Line) =>
    h("div.line" + (l.s === 2 ? ".stderr" : ".stdout"), { hidden: !!search.value && !l.text.toLowerCase().includes(search.value.toLowerCase()) },
      h("time", {}, l.t), l.text);
  let frame = 0;
  const flush = () => {
    frame = 0;
    if (!pending.length) return;
    out.append(...pending.slice(-MAX_LINES).map(lineEl)); pending = [];
    let extra = out.childElementCount - MAX_LINES;
    while (extra-- > 0) out.firstElementChild!.remove();
    if (follow.checked) out.scrollTop = out.scrollHeight;
  };
  signal.addEventListener("abort", () => cancelAnimationFrame(frame));
  const partial = ["", "", ""];
  const onText = (s: number, text: string) => {
    const parts = (partial[s] + text).split("\n");
    partial[s] = parts.pop()!;
    for (const p of parts) {
      const sp = p.indexOf(" ");
      const l = { s, t: p.slice(0, sp), text: p.slice(sp + 1) };
      lines.push(l); pending.push(l);
    }
    lines = trim(lines); pending = trim(pending);
    if (pending.length && !frame && !signal.aborted) frame = requestAnimationFrame(flush);
  };
  search.addEventListener("input", () => {
    const q = search.value.toLowerCase();
    for (const el of out.children) (el as HTMLElement).hidden = !!q && !(el.textContent || "").toLowerCase().includes(q);
  });
  stamps.addEventListener("change", () => out.classList.toggle("stamps", stamps.checked));
  const download = () => {
    const blob = new Blob(lines.slice(-MAX_LINES).map((l) => `${l.t} ${l.text}\n`), { type: "text/plain" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `${id.slice(0, 12)}.log` });
    a.click(); setTimeout(() => URL.revokeObjectURL((a as HTMLAnchorElement).href), 1000);
  };
  panel.append(h("div.toolbar", {}, search, h("label", { for: "follow" }, follow, " follow"), h("label", { for: "stamps" }, stamps, " timestamps"),
    h("button", { type: "button", onclick: download }, "Download")), out);
  (async () => {
    const c: any = await api("GET", `/containers/${id}/json`);
    const dec = new TextDecoder();
    const parse = c.Config.Tty ? (b: Uint8Array) => onText(1, dec.decode(b, { stream: true })) : demux(onText);
    let since = 0;
    while (!signal.aborted) {
      try {
        await stream("GET", `/containers/${id}/logs?follow=1&stdout=1&stderr=1&timestamps=1&tail=${since ? "all" : "1000"}${since ? `&since=${since}` : ""}`, parse, signal);
      } catch { /* the daemon restarted or the container is gone */ }
      since = Math.floor(Date.now() / 1000);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })().catch((e) => toast(e.message, true));
}

function stats(panel: HTMLElement, id: string, signal: AbortSignal): void {
  const numbers = h("dl.stats");
  const plotBox = h("div.plot", { "data-points": "0", "aria-label": "CPU and memory over the last 10 minutes", role: "img" });
  panel.append(numbers, plotBox);
  const data: [number[], number[], number[]] = [[], [], []];
  const width = () => Math.max(300, Math.min(panel.clientWidth || 900, 1100));
  const plot = new uPlot({
    width: width(), height: 260, scales: { x: { time: true }, y: { range: [0, 100] } },
    series: [{}, { label: "CPU %", stroke: "#2563eb", width: 2 }, { label: "Memory % of limit", stroke: "#c2410c", width: 2 }],
    axes: [{}, { values: (_u: uPlot, v: number[]) => v.map((x) => x + "%") }],
  }, data, plotBox);
  const onResize = () => plot.setSize({ width: width(), height: 260 });
  window.addEventListener("resize", onResize);
  signal.addEventListener("abort", () => { window.removeEventListener("resize", onResize); plot.destroy(); });
  const onStats = (s: any) => {
    if (!s.read) return;
    const t = Date.parse(s.read) / 1000;
    const used = memUsed(s), limit = s.memory_stats?.limit || 0;
    data[0].push(t); data[1].push(cpuPercent(s)); data[2].push(limit ? (100 * used) / limit : 0);
    while (data[0].length && data[0][0] < t - WINDOW) data.forEach((a) => a.shift());
    plot.setData(data);
    plotBox.dataset.points = String(data[0].length);
    const net = Object.values(s.networks || {}) as any[];
    const blk = (s.blkio_stats?.io_service_bytes_recursive || []) as any[];
    const sum = (xs: any[], f: (x: any) => number) => xs.reduce((a, x) => a + (f(x) || 0), 0);
    numbers.replaceChildren(...[
      ["CPU", `${data[1][data[1].length - 1].toFixed(1)} %`], ["Memory", `${bytes(used)} / ${bytes(limit)}`],
      ["Net I/O", `${bytes(sum(net, (n) => n.rx_bytes))} / ${bytes(sum(net, (n) => n.tx_bytes))}`],
      ["Block I/O", `${bytes(sum(blk.filter((b) => /read/i.test(b.op)), (b) => b.value))} / ${bytes(sum(blk.filter((b) => /write/i.test(b.op)), (b) => b.value))}`],
      ["PIDs", String(s.pids_stats?.current ?? "")],
    ].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  };
  (async () => {
    while (!signal.aborted) {
      try { await stream("GET", `/containers/${id}/stats?stream=1`, jsonLines(onStats), signal); } catch { /* reconnect */ }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}

function terminal(panel: HTMLElement, id: string, signal: AbortSignal): void {
  const box = h("div.term", { "aria-label": "Terminal" });
  const status = h("p.note", { role: "status" }, "Connecting…");
  panel.append(status, box);
  const term = new Terminal({ cursorBlink: true, fontSize: 14, convertEol: false, scrollback: 5000 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(box);
  fit.fit();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ui/terminal/${encodeURIComponent(id)}?cols=${term.cols}&rows=${term.rows}`);
  ws.binaryType = "arraybuffer";
  const enc = new TextEncoder();
  ws.onopen = () => { status.textContent = "Connected: a shell in the container (exec with a TTY)."; term.focus(); };
  ws.onmessage = (m) => term.write(new Uint8Array(m.data as ArrayBuffer));
  ws.onclose = (e) => { status.textContent = `Disconnected${e.reason ? ": " + e.reason : ""}.`; };
  term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d)); });
  term.onResize(({ cols, rows }) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ resize: [cols, rows] })); });
  const onResize = () => fit.fit();
  window.addEventListener("resize", onResize);
  signal.addEventListener("abort", () => { window.removeEventListener("resize", onResize); ws.close(); term.dispose(); });
}
