// Shared page pieces: the confirmation dialog, action buttons, JSON views.
import { api } from "./api";
import { h, toast } from "./dom";

/** An accessible modal confirmation; resolves true when the user confirms. */
export function confirmDialog(question: string, verb: string): Promise<boolean> {
  return new Promise((resolve) => {
    const d = h("dialog.confirm", { "aria-label": question }) as HTMLDialogElement;
    const done = (ok: boolean) => { d.close(); d.remove(); resolve(ok); };
    d.append(
      h("p", {}, question),
      h("div.row", {},
        h("button", { type: "button", onclick: () => done(false) }, "Cancel"),
        h("button.danger", { type: "button", "data-confirm": "yes", onclick: () => done(true) }, verb)),
    );
    d.addEventListener("cancel", () => done(false));
    document.body.append(d);
    d.showModal();
  });
}

export interface Action { name: string; label: string; method: string; path: string; confirm?: string }

/** Container actions and their Engine API calls; destructive ones ask first. */
export function containerActions(id: string, state: string): Action[] {
  const c = `/containers/${id}`;
  const running = state === "running", paused = state === "paused";
  const all: (Action | false)[] = [
    !running && !paused && { name: "start", label: "Start", method: "POST", path: `${c}/start` },
    running && { name: "stop", label: "Stop", method: "POST", path: `${c}/stop` },
    (running || paused) && { name: "restart", label: "Restart", method: "POST", path: `${c}/restart` },
    running && { name: "pause", label: "Pause", method: "POST", path: `${c}/pause` },
    paused && { name: "unpause", label: "Resume", method: "POST", path: `${c}/unpause` },
    (running || paused) && { name: "kill", label: "Kill", method: "POST", path: `${c}/kill`, confirm: "Kill this container (SIGKILL)?" },
    { name: "remove", label: "Remove", method: "DELETE", path: `${c}?force=1&v=0`, confirm: "Remove this container? Its writable layer is lost." },
  ];
  return all.filter((a): a is Action => !!a);
}

export async function runAction(a: Action, after?: () => void): Promise<void> {
  if (a.confirm && !(await confirmDialog(a.confirm, a.label))) return;
  try {
    await api(a.method, a.path);
    toast(`${a.label}: done`);
    after?.();
  } catch (e: any) {
    toast(`${a.label}: ${e.message}`, true);
  }
}

export function actionButtons(actions: Action[], after?: () => void): HTMLElement {
  return h("div.actions", {}, actions.map((a) =>
    h("button" + (a.confirm ? ".danger" : ""), { type: "button", "data-action": a.name, onclick: () => runAction(a, after) }, a.label)));
}

const SECRET = /pass|secret|token|key|credential|auth|private/i;

/** KEY=value with secret-looking values masked (the key name decides). */
export function maskEnv(env: string[]): string[] {
  return env.map((e) => {
    const i = e.indexOf("=");
    return i > 0 && SECRET.test(e.slice(0, i)) ? `${e.slice(0, i)}=••••••` : e;
  });
}

export function jsonView(value: unknown): HTMLElement {
  return h("pre.json", { tabindex: 0 }, JSON.stringify(value, null, 2));
}

export function portLinks(ports: any[]): HTMLElement {
  const seen = new Set<string>();
  return h("span.ports", {}, (ports || []).filter((p) => p.PublicPort).filter((p) => {
    const k = `${p.PublicPort}/${p.Type}`; if (seen.has(k)) return false; seen.add(k); return true;
  }).map((p) => p.Type === "tcp"
    ? h("a", { href: `http://${location.hostname}:${p.PublicPort}/`, target: "_blank", rel: "noopener" }, `${p.PublicPort}→${p.PrivatePort}`)
    : h("span", {}, `${p.PublicPort}→${p.PrivatePort}/${p.Type}`)));
}

export function health(status: string): string {
  const m = status.match(/\((healthy|unhealthy|health: starting)\)/);
  return m ? m[1].replace("health: ", "") : "";
}
