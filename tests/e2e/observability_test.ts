/**
 * Observability against a real kernel: a tsvpn server in a namespace with
 * stock openvpn 2.6 clients, scraped by a real Prometheus server (Debian's
 * `prometheus`, on the namespace's loopback with a temporary config and data
 * directory) whose query API must return tsvpn's values; and the status page
 * in headless Chromium (Debian's `chromium`, driven over the DevTools
 * protocol by support/status_page_driver.ts inside the namespace): both
 * clients shown, the graph moving under a ping flood, a cross-site kill form
 * refused, the Kill button disconnecting a client. The screenshot the README
 * shows (docs/status-page.png) is taken here.
 */

import assert from "node:assert/strict";
import { promtoolCheck } from "../../src/testing/ops/prometheus_text.ts";
import { until } from "../../src/testing/wait.ts";
import { parseLastJson } from "../harness/netns.ts";
import { haveChromium } from "./support/cdp.ts";
import { e2eIgnore, type E2eLab, ROOT } from "./support/lab.ts";
import { runScenario } from "./support/scenario.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const METRICS = "127.0.0.1:9477";
const HTTP_GET = `${ROOT}tests/e2e/support/http_get.ts`;
const DRIVER = `${ROOT}tests/e2e/support/status_page_driver.ts`;

function have(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** GET `url` from inside `ns`. */
async function httpGet(lab: E2eLab, ns: string, url: string): Promise<{ status: number; body: string }> {
  const r = await lab.lab.runDeno(ns, HTTP_GET, [url], { timeoutMs: 20_000 });
  return parseLastJson(r.stdout);
}

/** One instant query against the Prometheus HTTP API: the single result's value, or null. */
async function promQuery(lab: E2eLab, ns: string, expr: string): Promise<number | null> {
  const r = await httpGet(lab, ns, `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(expr)}`);
  if (r.status !== 200) return null;
  const data = JSON.parse(r.body) as { data: { result: { value: [number, string] }[] } };
  const result = data.data.result;
  return result.length === 1 ? Number(result[0].value[1]) : null;
}

Deno.test({
  ignore: e2eIgnore() || !have(PROMETHEUS),
  name:
    "a real Prometheus server scrapes the server's /metrics and its query API returns clients, handshakes and traffic",
  fn: async () => {
    await runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      server: `  network: 10.8.0.0/24\n  metrics: { listen: "${METRICS}" }\n`,
    }, async ({ lab, pki, ns, srv }) => {
      const direct = await httpGet(lab, srv, `http://${METRICS}/metrics`);
      assert.equal(direct.status, 200);
      await promtoolCheck(direct.body);

      await Deno.writeTextFile(
        `${pki.dir}/prometheus.yml`,
        [
          "global: { scrape_interval: 1s, evaluation_interval: 1s }",
          "scrape_configs:",
          `  - { job_name: tsvpn, static_configs: [{ targets: ["${METRICS}"] }] }`,
          "",
        ].join("\n"),
      );
      lab.spawnLogged(srv, "prometheus", [
        PROMETHEUS,
        `--config.file=${pki.dir}/prometheus.yml`,
        `--storage.tsdb.path=${pki.dir}/prometheus-data`,
        "--web.listen-address=127.0.0.1:9090",
        "--log.level=warn",
      ]);
      assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1"), true);
      await lab.exec(ns.alice, ["ping", "-c", "20", "-i", "0.05", "-s", "500", "10.8.0.1"]);

      const value = (expr: string, ok: (v: number) => boolean) =>
        until(async () => {
          const v = await promQuery(lab, srv, expr);
          return v !== null && ok(v) ? { v } : null;
        }, { what: `Prometheus to answer ${expr}`, timeoutMs: 60_000, intervalMs: 500 }).then((r) => r.v);

      assert.equal(await value('up{job="tsvpn"}', (v) => v === 1), 1);
      assert.equal(await value("tsvpn_clients_connected", (v) => v === 2), 2);
      assert.equal(await value('tsvpn_handshakes_total{result="ok"}', (v) => v === 2), 2);
      assert.ok(await value('tsvpn_tunnel_packets_total{direction="in"}', (v) => v >= 21) >= 21);
      assert.ok(
        await value('tsvpn_client_bytes_total{client="alice",direction="in"}', (v) => v >= 20 * 528) >=
          20 * 528,
      );
      assert.equal(await value("tsvpn_pool_addresses_in_use", (v) => v === 2), 2);
      assert.ok(await value("process_resident_memory_bytes", (v) => v > 1e6) > 1e6);
    });
  },
});

Deno.test({
  ignore: e2eIgnore() || !haveChromium(),
  name:
    "the status page in headless Chromium shows two stock clients, a moving graph under a ping flood, refuses a cross-site kill and kills from its button",
  fn: async () => {
    await runScenario({
      // --remap-usr1 SIGTERM: a killed client exits instead of reconnecting, so its row stays gone.
      clients: [{ name: "alice", extra: ["--remap-usr1", "SIGTERM"] }, { name: "bob" }],
      server: [
        "  network: 10.8.0.0/24",
        `  metrics: { listen: "${METRICS}", status_page: true }`,
        "  clients:",
        "    bob: { iroutes: [192.168.50.0/24] }",
        "",
      ].join("\n"),
    }, async ({ lab, ns, srv, server, clients }) => {
      assert.equal(await lab.pingUntil(ns.bob, "10.8.0.1"), true);
      const flood = lab.lab.spawn(ns.bob, ["ping", "-f", "-s", "1000", "-w", "90", "10.8.0.1"]);
      try {
        const run = await lab.lab.runDeno(
          srv,
          DRIVER,
          [`http://${METRICS}/`, "alice,bob", `${ROOT}docs/status-page.png`],
          { timeoutMs: 150_000 },
        );
        const report = parseLastJson<{
          before: string[];
          first: { lastIn: number; end: number };
          moving: { lastIn: number; end: number; points: number };
          crossSite: string;
          after: string[];
          routes: string[][];
          clientCells: string[][];
          status: string;
        }>(run.stdout);
        assert.deepEqual([...report.before].sort(), ["alice", "bob"]);
        // name, real address, virtual address, bytes in, bytes out, since, mesh path, button
        for (const row of report.clientCells) {
          assert.match(row[1], /^172\.31\.0\.1[12]:\d+$/, JSON.stringify(row));
          assert.match(row[2], /^10\.8\.0\.\d+$/, JSON.stringify(row));
          assert.match(row[5], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/, JSON.stringify(row));
          assert.equal(row[6], "via server", "stock clients have no mesh");
        }
        assert.ok(
          report.routes.some((r) => r[0] === "192.168.50.0/24" && r[1] === "iroute" && r[2] === "bob"),
          JSON.stringify(report.routes),
        );
        assert.equal(
          report.routes.filter((r) => r[1] === "address").length,
          2,
          JSON.stringify(report.routes),
        );
        assert.ok(
          report.moving.lastIn > 10_000 && report.moving.end > report.first.end,
          JSON.stringify(report),
        );
        assert.ok(report.moving.points >= 2, "the graph draws a line");
        assert.match(report.crossSite, /refused: cross-origin request/);
        assert.deepEqual(report.after, ["bob"], "bob survived the cross-site form; alice was killed");
        assert.match(report.status, /killed alice/);
        const png = await Deno.readFile(`${ROOT}docs/status-page.png`);
        assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "the screenshot is a PNG");
        assert.ok(png.length > 10_000, `the screenshot has content (${png.length} bytes)`);
      } finally {
        flood.kill("SIGINT");
        await flood.output();
      }
      await server.waitFor(/status page kill refused reason="cross-origin request"/);
      await server.waitFor(/killing client cn=alice reason="killed from the status page"/);
      await clients.alice.waitFor(/OCC exit|SIGTERM/);
    });
  },
});
