// The dashboard's client of the Engine API, mounted by the UI server under /engine/.
// State-changing calls carry the CSRF token (from the baleine_csrf cookie).

export const ENGINE = "/engine";

function csrf(): string {
  const m = document.cookie.match(/(?:^|;\s*)baleine_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

/** One Engine API call; JSON in, JSON (or null) out; errors carry the daemon's message. */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  return call<T>(method, ENGINE + path, body);
}

/** One call to the dashboard's own routes (`/ui/...`: compose up, down), same rules as `api`. */
export async function ui<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  return call<T>(method, path, body);
}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const text = await r.text();
  if (!r.ok) {
    let msg = text;
    try { msg = JSON.parse(text).message; } catch { /* not JSON */ }
    if (r.status === 401) location.reload();
    throw new ApiError(r.status, msg || r.statusText);
  }
  return (text ? JSON.parse(text) : null) as T;
}

/** Reads a streaming response chunk by chunk until it ends or `signal` aborts
 * (`path` is an Engine API path, or a dashboard route when it starts with /ui/). */
export async function stream(method: string, path: string, onChunk: (b: Uint8Array) => void, signal: AbortSignal,
                             onOpen?: () => void): Promise<void> {
  const headers: Record<string, string> = method === "GET" ? {} : { "X-CSRF-Token": csrf() };
  const r = await fetch((path.startsWith("/ui/") ? "" : ENGINE) + path, { method, headers, signal, credentials: "same-origin" });
  if (!r.ok || !r.body) throw new ApiError(r.status, await r.text());
  onOpen?.();
  const reader = r.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (value) onChunk(value);
  }
}

/** Splits a stream of newline-separated JSON documents. */
export function jsonLines(onDoc: (d: any) => void): (b: Uint8Array) => void {
  const dec = new TextDecoder();
  let buf = "";
  return (b) => {
    buf += dec.decode(b, { stream: true });
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) { try { onDoc(JSON.parse(line)); } catch { /* partial garbage: skip */ } }
    }
  };
}

/** Docker's multiplexed stdout/stderr frames ([stream,0,0,0,size BE]) to (stream, text).
 *  Linear in the bytes received: frames are read at an offset, the rest copied once per chunk. */
export function demux(onFrame: (stream: number, text: string) => void): (b: Uint8Array) => void {
  let buf = new Uint8Array(0);
  const dec = [new TextDecoder(), new TextDecoder(), new TextDecoder()];
  return (b) => {
    if (buf.length) {
      const joined = new Uint8Array(buf.length + b.length);
      joined.set(buf); joined.set(b, buf.length);
      buf = joined;
    } else buf = b;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    while (buf.length - at >= 8) {
      const size = view.getUint32(at + 4);
      if (buf.length - at < 8 + size) break;
      const s = buf[at] === 2 ? 2 : 1;
      onFrame(s, dec[s].decode(buf.subarray(at + 8, at + 8 + size), { stream: true }));
      at += 8 + size;
    }
    buf = buf.slice(at);
  };
}

type Listener = (ev: any) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(up: boolean) => void>();

/** Subscribes to the daemon's /events; returns the unsubscribe function. */
export function onEvent(l: Listener): () => void { listeners.add(l); return () => listeners.delete(l); }
/** Called with true each time the events stream (re)connects, false when it drops. */
export function onConnection(l: (up: boolean) => void): () => void { stateListeners.add(l); return () => stateListeners.delete(l); }

/** One /events stream for the whole page, reconnecting with backoff when the daemon restarts. */
export async function runEvents(): Promise<void> {
  let delay = 500;
  for (;;) {
    const ctl = new AbortController();
    try {
      const since = Math.floor(Date.now() / 1000);
      await stream("GET", `/events?since=${since}`, jsonLines((ev) => listeners.forEach((l) => l(ev))), ctl.signal,
        () => { delay = 500; stateListeners.forEach((l) => l(true)); });
    } catch { /* dropped */ }
    stateListeners.forEach((l) => l(false));
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}
