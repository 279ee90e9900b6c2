// The Kubernetes page's HorizontalPodAutoscalers: target, bounds, replicas, conditions, and
// live plots of each metric against its target and of the replica counts over time, drawn
// from the series the server samples (baleine/ui/hpahistory.py, resource "hpahistory").
// Cards persist across the page's re-renders: their plots are updated, not rebuilt.
import uPlot from "uplot";
import { ago, h } from "./dom";

type Obj = any;

/** A sampled point of one HPA (hpahistory.sample). */
export interface Sample {
  t: number; current: number | null; desired: number | null; min: number; max: number | null;
  metrics: { key: string; label: string; unit: string; target: number | null; current: number | null }[];
}

export const WINDOW = 900; // seconds of history kept in the page, as on the server
const TICK = 5000; // ms: the plots' right edge follows the clock between samples

/** A metric value with its unit: 45%, 250m (cores), 64Mi (bytes), 12.5. */
export function formatValue(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined) return "<unknown>";
  if (unit === "%") return `${Math.round(v)}%`;
  if (unit === "cores") return v < 1 ? `${Math.round(v * 1000)}m` : `${+v.toFixed(2)}`;
  if (unit === "bytes") return binary(v);
  return `${+v.toFixed(3)}`;
}

/** Bytes in Kubernetes' binary suffixes, as memory quantities are written: 48Mi, 1.5Gi. */
function binary(v: number): string {
  const units = ["", "Ki", "Mi", "Gi", "Ti"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${+v.toFixed(1)}${units[i]}`;
}

/** kubectl's TARGETS column for one metric: "45%/50%". */
export function metricText(m: Sample["metrics"][number]): string {
  return `${formatValue(m.current, m.unit)}/${formatValue(m.target, m.unit)}`;
}

/** Appends a sample, dropping what left the window (the newest of those stays: the left edge). */
export function addSample(samples: Sample[], s: Sample): void {
  samples.push(s);
  let old = 0;
  while (old + 1 < samples.length && samples[old + 1].t <= s.t - WINDOW) old++;
  samples.splice(0, old);
}

/** uPlot data for one metric (or "replicas"): x, current, target — the last values repeated at `now`. */
export function plotData(samples: Sample[], key: string, now: number): [number[], (number | null)[], (number | null)[]] {
  const pick = (s: Sample): [number | null, number | null] => {
    if (key === "replicas") return [s.current, s.desired];
    const m = s.metrics.find((x) => x.key === key);
    return m ? [m.current, m.target] : [null, null];
  };
  const xs: number[] = [], a: (number | null)[] = [], b: (number | null)[] = [];
  for (const s of samples) { const [p, q] = pick(s); xs.push(s.t); a.push(p); b.push(q); }
  if (samples.length && now > xs[xs.length - 1]) { xs.push(now); a.push(a[a.length - 1]); b.push(b[b.length - 1]); }
  return [xs, a, b];
}

const COLORS = { current: "#1d4ed8", target: "#b91c1c" }; // 4.5:1 and more on white
// A value holds until the next sample (the status changed then): steps, not slopes.
const STEPS = uPlot.paths.stepped!({ align: 1 });
const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]; // replica ticks: no 2.5 replicas

interface Chart { key: string; box: HTMLElement; plot: uPlot; unit: string; label: string }

class Card {
  el: HTMLElement;
  private info = h("div");
  private plots = h("div.hplots");
  private charts: Chart[] = [];
  private keys = "";
  private samples: Sample[] = [];

  constructor(public name: string) {
    this.el = h("section.kcard.hpa", { "data-hpa": name, "aria-label": `HorizontalPodAutoscaler ${name}` },
      h("h3", {}, name), this.info, this.plots);
  }

  update(hpa: Obj, samples: Sample[]): void {
    const st = hpa.status || {}, spec = hpa.spec || {}, ref = spec.scaleTargetRef || {};
    const last = samples[samples.length - 1];
    this.samples = samples;
    Object.assign(this.el.dataset, { current: String(st.currentReplicas ?? ""), desired: String(st.desiredReplicas ?? "") });
    const metrics = last?.metrics || [];
    this.info.replaceChildren(
      h("p.mono", {}, `${ref.kind || "?"}/${ref.name || "?"} · min ${spec.minReplicas ?? 1} · max ${spec.maxReplicas ?? "?"} · `,
        h("span", { "data-key": "replicas" }, `replicas ${st.currentReplicas ?? "?"}`),
        st.desiredReplicas !== undefined && st.desiredReplicas !== st.currentReplicas ? ` → ${st.desiredReplicas} desired` : ""),
      h("table.history.metrics", { "aria-label": `Metrics of ${this.name}` },
        h("thead", {}, h("tr", {}, ["Metric", "Current", "Target"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, metrics.map((m) => h("tr", { "data-metric": m.key, "data-current": m.current ?? "", "data-target": m.target ?? "" },
          h("td", {}, m.label + (m.unit === "%" ? " (utilization)" : "")), h("td.mono", {}, formatValue(m.current, m.unit)),
          h("td.mono", {}, formatValue(m.target, m.unit)))))),
      h("ul.conditions", {}, (st.conditions || []).map((c: Obj) => h("li", { "data-condition": c.type, title: c.message || "" },
        h("b", {}, c.type), `=${c.status}`, c.reason ? ` (${c.reason})` : ""))),
      st.lastScaleTime ? h("p.note", { title: st.lastScaleTime }, `Last scaled ${ago(Date.parse(st.lastScaleTime) / 1000)} ago`) : "");
    const keys = [...metrics.map((m) => `${m.key}\t${m.unit}\t${m.label}`), "replicas"].join("\n");
    if (keys !== this.keys) this.rebuild(metrics, keys);
    this.redraw();
  }

  private rebuild(metrics: Sample["metrics"], keys: string): void {
    this.charts.forEach((c) => c.plot.destroy());
    this.keys = keys;
    const specs = [...metrics.map((m) => ({ key: m.key, unit: m.unit, label: m.label, names: ["current", "target"] })),
      { key: "replicas", unit: "", label: "replicas", names: ["current", "desired"] }];
    this.charts = specs.map((s) => {
      const box = h("div.plot", { "data-plot": s.key, "data-points": "0", role: "img" });
      const plot = new uPlot({
        width: 300, height: 160, // resized to its column once laid out
        title: s.key === "replicas" ? "Replicas" : `${s.label}${s.unit === "%" ? " utilization" : ""}`,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max || 0, 1) * 1.15] } },
        legend: { live: false }, // the series' names; the values are in the table above
        series: [{}, { label: s.names[0], stroke: COLORS.current, width: 2, spanGaps: true, paths: STEPS },
          { label: s.names[1], stroke: COLORS.target, width: 2, dash: [6, 4], spanGaps: true, paths: STEPS }],
        axes: [{}, { values: (_u, vs) => vs.map((v) => formatValue(v, s.unit)), size: 60,
          ...(s.key === "replicas" ? { incrs: WHOLE } : {}) }],
      }, [[], [], []], box);
      return { key: s.key, box, plot, unit: s.unit, label: s.label };
    });
    this.plots.replaceChildren(...this.charts.map((c) => c.box));
    this.resize();
  }

  /** New data on every plot, the right edge at the clock's time. */
  redraw(): void {
    const now = Date.now() / 1000;
    for (const c of this.charts) {
      const data = plotData(this.samples, c.key, now);
      c.plot.setData(data as uPlot.AlignedData);
      c.box.dataset.points = String(this.samples.length);
      const cur = data[1][data[1].length - 1], tgt = data[2][data[2].length - 1];
      c.box.setAttribute("aria-label", c.key === "replicas"
        ? `Replicas over the last ${WINDOW / 60} minutes: now ${cur ?? "unknown"}, desired ${tgt ?? "unknown"}`
        : `${c.label} over the last ${WINDOW / 60} minutes: now ${formatValue(cur, c.unit)} against a target of ${formatValue(tgt, c.unit)}`);
    }
  }

  /** Each plot as wide as its grid column (the boxes' padding aside). */
  resize(): void {
    for (const c of this.charts) {
      const width = Math.max(200, Math.floor((c.box.clientWidth || 320) - 10));
      if (width !== c.plot.width) c.plot.setSize({ width, height: 160 });
    }
  }

  destroy(): void { this.charts.forEach((c) => c.plot.destroy()); this.charts = []; }
}

/** The section: one persistent card per HPA, kept in the order given. */
export class HPASection {
  el = h("div.kcards.hpas");
  private cards = new Map<string, Card>();
  private timer: number;
  private onResize = () => this.cards.forEach((c) => c.resize());
  private empty = h("p.note", {}, "No HorizontalPodAutoscalers.");

  constructor(signal: AbortSignal) {
    this.timer = window.setInterval(() => this.cards.forEach((c) => c.redraw()), TICK);
    window.addEventListener("resize", this.onResize);
    signal.addEventListener("abort", () => {
      clearInterval(this.timer);
      window.removeEventListener("resize", this.onResize);
      this.cards.forEach((c) => c.destroy());
    });
  }

  update(hpas: Obj[], history: Map<string, Obj>): void {
    const seen = new Set<string>();
    const fresh: Card[] = [];
    this.empty.remove();
    hpas.forEach((hpa, i) => {
      const name = hpa.metadata.name;
      seen.add(name);
      let card = this.cards.get(name);
      if (!card) { card = new Card(name); this.cards.set(name, card); fresh.push(card); }
      const series = history.get(name);
      const samples: Sample[] = series && series.metadata.uid === hpa.metadata.uid ? series.samples : [];
      if (this.el.children[i] !== card.el) this.el.insertBefore(card.el, this.el.children[i] || null); // in order
      card.update(hpa, samples);
    });
    for (const [name, card] of this.cards) if (!seen.has(name)) { card.destroy(); card.el.remove(); this.cards.delete(name); }
    fresh.forEach((c) => c.resize()); // attached now: their real width is known
    if (!hpas.length) this.el.replaceChildren(this.empty);
  }
}
