/**
 * The metrics listener (docs/observability.md): `GET /metrics` in the
 * Prometheus text format for anyone who reaches the port, and, when the
 * status page is on, the page (`/`), its data (`/status.json`) and the kill
 * button (`POST /kill`), behind web_guard.ts: loopback peers unless opened,
 * an IP-literal Host, the management password as HTTP basic auth when set,
 * and for /kill also POST + own Origin + the CSRF token.
 */

import type { Logger } from "../log/log.ts";
import type { MetricsSource } from "./metric_family.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics_text.ts";
import type { ServerControl } from "./server_control.ts";
import { statusPageHtml, statusPagePolicy } from "./status_page.ts";
import { TrafficHistory } from "./traffic_history.ts";
import { basicAuthOk, literalHost, peerAllowed, postRefusal } from "./web_guard.ts";

export interface StatusPageOptions {
  control: ServerControl;
  /** Serve the page to non-loopback peers too. */
  remote: boolean;
  /** The management password (HTTP basic auth, any user name), or null for none. */
  password: string | null;
}

export interface MetricsHttpOptions {
  host: string;
  port: number;
  source: MetricsSource;
  log: Logger;
  /** The status page, or null (only /metrics). */
  page?: StatusPageOptions | null;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Delay before a refused password is answered (slows guessing). @default 1000 */
  authFailDelayMs?: number;
}

export interface MetricsHttp {
  /** "host:port" actually bound. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The longest /kill body read; a name and a token fit many times over. */
const MAX_FORM_BYTES = 4096;

export function startMetricsHttp(o: MetricsHttpOptions): MetricsHttp {
  const handler = new MetricsHandler(o);
  const server = Deno.serve(
    { hostname: o.host, port: o.port, onListen: () => {} },
    (req, info) => handler.handle(req, info.remoteAddr.hostname),
  );
  const addr = server.addr;
  const address = addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
  o.log.info("metrics listening", { address, statusPage: o.page != null });
  return {
    address,
    port: addr.port,
    close: async () => {
      handler.close();
      await server.shutdown();
    },
  };
}

/** The listener's requests, apart from the socket (tests call handle() with any peer address). */
export class MetricsHandler {
  readonly #c: RouteContext;
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  constructor(o: MetricsHttpOptions) {
    const now = o.now ?? Date.now;
    const history = new TrafficHistory();
    const sample = () => {
      const t = o.source.trafficTotals();
      history.sample(t.bytesIn, t.bytesOut, now());
    };
    sample();
    this.#timer = o.page ? setInterval(sample, 1000) : undefined;
    this.#c = { o, history, csrfToken: randomToken(), now };
  }

  /** Answers `req` from peer address `peer` (no port); never rejects. */
  handle(req: Request, peer: string): Promise<Response> {
    return route(req, peer, this.#c).catch((e) => {
      this.#c.o.log.warn("metrics request failed", { reason: (e as Error).message });
      return text(500, "internal error\n");
    });
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

interface RouteContext {
  o: MetricsHttpOptions;
  history: TrafficHistory;
  csrfToken: string;
  now: () => number;
}

async function route(req: Request, peer: string, c: RouteContext): Promise<Response> {
  const path = new URL(req.url).pathname;
  if (path === "/metrics") {
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "GET only\n");
    return new Response(await renderMetrics(c.o.source.families()), {
      headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" },
    });
  }
  const page = c.o.page;
  if (!page || !["/", "/status.json", "/kill"].includes(path)) return text(404, "not found\n");
  const refusal = await pageRefusal(req, peer, page, c.o.authFailDelayMs ?? 1000);
  if (refusal) return refusal;
  if (path === "/") return pageResponse(c.csrfToken, page.control);
  if (path === "/status.json") return statusJson(page.control, c.history);
  return await kill(req, page.control, c);
}

/** The response refusing a page request (peer, Host, password), or null. */
async function pageRefusal(
  req: Request,
  peer: string,
  page: StatusPageOptions,
  authFailDelayMs: number,
): Promise<Response | null> {
  if (!peerAllowed(peer, page.remote)) return text(403, "the status page answers loopback peers only\n");
  if (literalHost(hostOf(req)) === null) {
    return text(421, "Host must be an IP address or localhost\n");
  }
  if (!basicAuthOk(req.headers.get("authorization"), page.password)) {
    await new Promise((r) => setTimeout(r, authFailDelayMs));
    return new Response("password required\n", {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="tsvpn", charset="UTF-8"', "content-type": "text/plain" },
    });
  }
  return null;
}

function pageResponse(csrfToken: string, control: ServerControl): Response {
  const nonce = randomToken();
  const snap = control.snapshot();
  const html = statusPageHtml(nonce, csrfToken, `tsvpn ${snap.version} — ${snap.listen}`);
  return new Response(html, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": statusPagePolicy(nonce),
      ...PAGE_HEADERS,
    },
  });
}

const PAGE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

function statusJson(control: ServerControl, history: TrafficHistory): Response {
  const s = control.snapshot();
  const body = {
    time: s.time,
    version: s.version,
    listen: s.listen,
    clients: s.clients,
    routes: s.routes.map((r) => ({ virtualAddress: r.virtualAddress, name: r.name })),
    traffic: history.series(),
  };
  return new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json", ...PAGE_HEADERS },
  });
}

async function kill(req: Request, control: ServerControl, c: RouteContext): Promise<Response> {
  const form = req.method === "POST" ? await readForm(req) : null;
  const refusal = postRefusal({
    method: req.method,
    origin: req.headers.get("origin"),
    host: hostOf(req),
    fetchSite: req.headers.get("sec-fetch-site"),
    token: form?.get("csrf") ?? null,
  }, c.csrfToken);
  if (refusal) {
    c.o.log.warn("status page kill refused", { reason: refusal });
    return text(403, `refused: ${refusal}\n`);
  }
  const name = form?.get("name") ?? "";
  if (name === "") return text(400, "name is required\n");
  const killed = await control.kill(name, "killed from the status page");
  return text(killed > 0 ? 200 : 404, killed > 0 ? `killed ${name} (${killed})\n` : `no client ${name}\n`);
}

/** The urlencoded form of a small body, or null when it is too large or not a form. */
async function readForm(req: Request): Promise<URLSearchParams | null> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) return null;
  const body = await readAtMost(req, MAX_FORM_BYTES);
  return body === null ? null : new URLSearchParams(new TextDecoder().decode(body));
}

/** The body when it has at most `limit` bytes, else null (reading stops at the limit). */
async function readAtMost(req: Request, limit: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const out = new Uint8Array(limit);
  let used = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out.subarray(0, used);
    if (used + value.length > limit) {
      await reader.cancel();
      return null;
    }
    out.set(value, used);
    used += value.length;
  }
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

/** The Host header; Deno.serve builds the URL from it, so the URL's host stands in when it is absent. */
function hostOf(req: Request): string {
  return req.headers.get("host") ?? new URL(req.url).host;
}
