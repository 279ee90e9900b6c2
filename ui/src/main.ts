// The dashboard's entry: hash routing, the live connection indicator.
import "@xterm/xterm/css/xterm.css";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { onConnection, runEvents } from "./api";
import { container } from "./container";
import { h } from "./dom";
import { kube } from "./kube";
import { compose, containers, images, networks, overview, volumes, type Page } from "./pages";

const ROUTES: Record<string, Page> = { "": overview, containers, compose, images, networks, volumes, kube };

let current: AbortController | null = null;

function route(): void {
  current?.abort();
  current = new AbortController();
  const [name = "", ...params] = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const page = name === "containers" && params.length ? container : ROUTES[name];
  const main = document.getElementById("main")!;
  main.replaceChildren();
  for (const a of document.querySelectorAll<HTMLAnchorElement>("header nav a")) {
    const target = a.getAttribute("href")!.replace(/^#\/?/, "");
    if (target === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (!page) { main.append(h("h1", {}, "Not found")); return; }
  const signal = current.signal;
  try { page(main, params, signal); } catch (e: any) { main.append(h("p", { role: "alert" }, e.message)); }
}

let wasDown = false;
onConnection((up) => {
  const el = document.getElementById("conn")!;
  el.textContent = up ? "live" : "reconnecting…";
  el.className = up ? "up" : "down";
  if (up && wasDown) window.dispatchEvent(new Event("baleine:reconnected"));
  wasDown = !up;
});
window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => console.warn(e.reason));
route();
runEvents();
