import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { FakeServerControl } from "../testing/ops/control.ts";
import { parseMetricsText, promtoolCheck } from "../testing/ops/prometheus_text.ts";
import type { MetricFamily, MetricsSource } from "./metric_family.ts";
import {
  MetricsHandler,
  type MetricsHttp,
  startMetricsHttp,
  type StatusPageOptions,
} from "./metrics_http.ts";

class FakeSource implements MetricsSource {
  bytesIn = 0;
  bytesOut = 0;
  families(): MetricFamily[] {
    return [{
      name: "tsvpn_tunnel_bytes_total",
      help: "bytes",
      type: "counter",
      labelNames: ["direction"],
      samples: [{ labels: { direction: "in" }, value: this.bytesIn }, {
        labels: { direction: "out" },
        value: this.bytesOut,
      }],
    }];
  }
  trafficTotals() {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }
}

async function withHttp(
  page: Partial<StatusPageOptions> | null,
  fn: (http: MetricsHttp, control: FakeServerControl, source: FakeSource) => Promise<void>,
): Promise<void> {
  const control = new FakeServerControl();
  const source = new FakeSource();
  const http = startMetricsHttp({
    host: "127.0.0.1",
    port: 0,
    source,
    log: new Logger({ sink: () => {} }),
    page: page ? { control, remote: false, password: null, ...page } : null,
    authFailDelayMs: 0,
  });
  try {
    await fn(http, control, source);
  } finally {
    await http.close();
  }
}

async function get(http: MetricsHttp, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://${http.address}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Loads the page and returns its CSRF token. */
async function pageToken(http: MetricsHttp, headers: Record<string, string> = {}): Promise<string> {
  const page = await get(http, "/", headers);
  assert.equal(page.status, 200, page.body);
  return /<meta name="csrf" content="([^"]+)">/.exec(page.body)![1];
}

function killRequest(http: MetricsHttp, body: string, headers: Record<string, string> = {}) {
  return fetch(`http://${http.address}/kill`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: `http://${http.address}`,
      ...headers,
    },
    body,
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

Deno.test("metrics listener: /metrics in the text format; the page is off unless asked for", async () => {
  await withHttp(null, async (http, _control, source) => {
    source.bytesIn = 1234;
    const metrics = await get(http, "/metrics");
    assert.equal(metrics.status, 200);
    assert.equal(parseMetricsText(metrics.body).get('tsvpn_tunnel_bytes_total{direction="in"}'), 1234);
    await promtoolCheck(metrics.body);
    assert.equal((await get(http, "/")).status, 404);
    assert.equal((await get(http, "/status.json")).status, 404);
    assert.equal((await killRequest(http, "name=alice")).status, 404);
  });
});

Deno.test("status page: self-contained HTML under a nonce CSP; status.json has clients, routes and traffic", async () => {
  await withHttp({}, async (http) => {
    const page = await get(http, "/");
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy")!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
    assert.ok(page.body.includes(`<script nonce="${nonce}">`));
    assert.match(csp, /default-src 'none'/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.doesNotMatch(page.body, /(src|href)="?https?:/, "nothing is loaded from elsewhere");
    const json = JSON.parse((await get(http, "/status.json")).body);
    assert.deepEqual(json.clients.map((c: { name: string }) => c.name), ["alice", "bob"]);
    assert.deepEqual(json.routes.map((r: { virtualAddress: string }) => r.virtualAddress), [
      "10.8.0.2",
      "10.8.0.3",
      "192.168.10.0/24",
    ]);
    assert.ok(Array.isArray(json.traffic.bytesIn));
  });
});

Deno.test("status page: kill needs POST, the page's Origin and its CSRF token", async () => {
  await withHttp({}, async (http, control) => {
    const token = await pageToken(http);
    const form = (name: string, csrf: string) => new URLSearchParams({ name, csrf }).toString();
    assert.equal(
      (await killRequest(http, form("alice", token), { origin: "http://evil.example" })).status,
      403,
    );
    assert.equal(
      (await killRequest(http, form("alice", token), { "sec-fetch-site": "cross-site" })).status,
      403,
    );
    assert.equal((await killRequest(http, form("alice", "forged"))).status, 403);
    assert.equal((await killRequest(http, "name=alice")).status, 403);
    assert.equal((await get(http, `/kill?name=alice&csrf=${token}`)).status, 403);
    const big = await killRequest(http, form("alice", token) + "&pad=" + "x".repeat(10_000));
    assert.equal(big.status, 403, "an oversized form is no form");
    assert.equal(control.kills.length, 0, "no refused request killed anyone");
    const ok = await killRequest(http, form("alice", token));
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(control.kills.map((k) => k.name), ["alice"]);
    assert.equal((await killRequest(http, form("alice", token))).status, 404);
  });
});

Deno.test("status page: a Host that is not an IP literal (DNS rebinding) is refused", async () => {
  await withHttp({}, async (http) => {
    // fetch() will not send another Host: write the request by hand.
    const raw = async (host: string) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: http.port });
      await conn.write(
        new TextEncoder().encode(`GET /status.json HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
      );
      const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
      return Number(/^HTTP\/1\.1 (\d+)/.exec(text)![1]);
    };
    assert.equal(await raw("evil.example:80"), 421);
    assert.equal(await raw(`localhost:${http.port}`), 200);
  });
});

Deno.test("status page: with the management password, HTTP basic auth guards the page, its JSON and kill", async () => {
  await withHttp({ password: "s3cret" }, async (http, control) => {
    const auth = { authorization: `Basic ${btoa("admin:s3cret")}` };
    const bad = { authorization: `Basic ${btoa("admin:nope")}` };
    const denied = await get(http, "/");
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("www-authenticate")!, /^Basic realm="tsvpn"/);
    assert.equal((await get(http, "/status.json", bad)).status, 401);
    const token = await pageToken(http, auth);
    assert.equal((await killRequest(http, `name=alice&csrf=${token}`)).status, 401);
    assert.equal((await killRequest(http, `name=alice&csrf=${token}`, auth)).status, 200);
    assert.deepEqual(control.kills.map((k) => k.name), ["alice"]);
    assert.equal((await get(http, "/metrics")).status, 200, "/metrics stays open for the scraper");
  });
});

Deno.test("status page: loopback peers only unless status_page_remote; /metrics answers anyone", async () => {
  for (const remote of [false, true]) {
    const handler = new MetricsHandler({
      host: "0.0.0.0",
      port: 0,
      source: new FakeSource(),
      log: new Logger({ sink: () => {} }),
      page: { control: new FakeServerControl(), remote, password: null },
    });
    try {
      const from = async (peer: string, path: string) => {
        const res = await handler.handle(new Request(`http://10.0.0.1:9477${path}`), peer);
        await res.body?.cancel();
        return res.status;
      };
      assert.equal(await from("10.0.0.5", "/"), remote ? 200 : 403);
      assert.equal(await from("10.0.0.5", "/status.json"), remote ? 200 : 403);
      assert.equal(await from("127.0.0.1", "/"), 200);
      assert.equal(await from("::1", "/"), 200);
      assert.equal(await from("10.0.0.5", "/metrics"), 200);
    } finally {
      handler.close();
    }
  }
});
