// The Kubernetes page's Ingresses (networking.k8s.io/v1): class, address, rules as
// host → path (pathType) → backend, TLS hosts with their secret, the default backend, and
// links to the hosts (https when a TLS entry names the host).
import { h } from "./dom";

type Obj = any;

const CLASS_ANNOTATION = "kubernetes.io/ingress.class"; // the class before ingressClassName

/** "svc:80", "svc:http", or "Kind/name" for a resource backend. */
export function backendText(b: Obj): string {
  if (!b) return "";
  if (b.service) return `${b.service.name}:${b.service.port?.number ?? b.service.port?.name ?? "?"}`;
  if (b.resource) return `${b.resource.kind}/${b.resource.name}`;
  return "?";
}

/** The Ingress' addresses from status.loadBalancer.ingress: ip or hostname, with ports. */
export function addresses(ing: Obj): string[] {
  return (ing.status?.loadBalancer?.ingress || []).map((i: Obj) => {
    const at = i.ip || i.hostname || "";
    const ports = (i.ports || []).map((p: Obj) => `${p.port}/${p.protocol || "TCP"}`);
    return ports.length ? `${at} (${ports.join(", ")})` : at;
  }).filter(Boolean);
}

/** Where a rule's path is reached: scheme://host/path; null for a wildcard host or when
 *  there is neither a host nor an address to use instead. */
export function hostLink(host: string, path: string, tls: Set<string>, address: string): string | null {
  const name = host || address;
  if (!name || name.includes("*")) return null;
  const scheme = host && tls.has(host) ? "https" : "http";
  const url = new URL(`${scheme}://${name.includes(":") ? `[${name}]` : name}/`); // an IPv6 address in brackets
  url.pathname = path || "/";
  return url.href;
}

function ruleRows(ing: Obj, tls: Set<string>, address: string): HTMLElement[] {
  const rows: HTMLElement[] = [];
  for (const rule of ing.spec?.rules || []) {
    const host = rule.host || "";
    const paths: Obj[] = rule.http?.paths || [];
    for (const p of paths.length ? paths : [{}]) {
      const link = hostLink(host, p.path || "/", tls, address);
      const shown = host || "*";
      rows.push(h("tr", { "data-host": host, "data-path": p.path || "", "data-backend": backendText(p.backend) },
        h("td", {}, link ? h("a", { href: link, target: "_blank", rel: "noopener noreferrer", title: `Open ${link}` }, shown) : shown,
          tls.has(host) ? h("span.state.running.tls", {}, "TLS") : ""),
        h("td.mono", {}, p.path || ""), h("td", {}, p.pathType || ""),
        h("td.mono", {}, p.backend ? backendText(p.backend) : h("span.note", {}, "default backend"))));
    }
  }
  return rows;
}

export function ingressCard(ing: Obj): HTMLElement {
  const name = ing.metadata.name, spec = ing.spec || {};
  const cls = spec.ingressClassName || ing.metadata.annotations?.[CLASS_ANNOTATION] || "";
  const addrs = addresses(ing);
  const firstIP = (ing.status?.loadBalancer?.ingress || []).map((i: Obj) => i.ip || i.hostname).find(Boolean) || "";
  const tlsHosts = new Set<string>((spec.tls || []).flatMap((t: Obj) => t.hosts || []));
  const rows = ruleRows(ing, tlsHosts, firstIP);
  return h("section.kcard.ingress", { "data-ingress": name, "data-class": cls, "data-address": addrs.join(" "), "aria-label": `Ingress ${name}` },
    h("h3", {}, name),
    h("p.mono", {}, `class ${cls || "<none>"} · address `, addrs.length ? addrs.join(", ") : h("span.note", {}, "none yet")),
    rows.length ? h("div.scroll", {}, h("table.rules", { "aria-label": `Rules of ${name}` },
      h("thead", {}, h("tr", {}, ["Host", "Path", "Path type", "Backend"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))) : h("p.note", {}, "No rules."),
    spec.defaultBackend && h("p", { "data-default-backend": backendText(spec.defaultBackend) }, "Default backend ",
      h("span.mono", {}, backendText(spec.defaultBackend))),
    (spec.tls || []).length ? h("ul.tls", { "aria-label": `TLS of ${name}` }, spec.tls.map((t: Obj) =>
      h("li", { "data-secret": t.secretName || "" }, "TLS ", h("span.mono", {}, (t.hosts || []).join(", ") || "all hosts"),
        " with secret ", h("span.mono", {}, t.secretName || "<none>")))) : "");
}
