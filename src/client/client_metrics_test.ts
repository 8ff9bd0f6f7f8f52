import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startMetricsHttp } from "../ops/metrics_http.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { parseMetricsText, promtoolCheck } from "../testing/ops/prometheus_text.ts";
import { Lab, until } from "../testing/server/lab.ts";
import type { ClientConfig } from "../config/schema.ts";
import { until as untilAsync } from "../testing/wait.ts";
import { ClientMetrics, serveClientMetrics } from "./client_metrics.ts";

Deno.test("client /metrics: connected, connections and their ends, tunnel traffic that survives a reconnect", async () => {
  const lab = await Lab.create();
  try {
    const server = await lab.startServer();
    const client = lab.startClient("client1");
    const http = startMetricsHttp({
      host: "127.0.0.1",
      port: 0,
      source: new ClientMetrics(client.handle),
      log: new Logger({ sink: () => {} }),
    });
    lab.onClose(() => http.close());
    const scrape = async () => {
      const text = await (await fetch(`http://${http.address}/metrics`)).text();
      await promtoolCheck(text);
      return parseMetricsText(text);
    };
    await client.handle.waitConnected(15_000);
    for (let seq = 1; seq <= 3; seq++) {
      client.device.inject(buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1", seq, payloadLen: 100 }));
    }
    await until(() => server.device.written.length >= 3 ? true : undefined, "three pings reach the server");
    const up = await scrape();
    assert.equal(up.get("tsvpn_connected"), 1);
    assert.equal(up.get("tsvpn_connections_total"), 1);
    assert.ok(up.get('tsvpn_tunnel_bytes_total{direction="out"}')! >= 3 * 128);
    assert.ok(up.get('tsvpn_tunnel_packets_total{direction="out"}')! >= 3);
    assert.equal(up.get('tsvpn_dropped_packets_total{layer="data",reason="replay"}'), 0);

    // The server kills it: the client reconnects; traffic totals keep what the first connection carried.
    await server.handle.control.kill("client1", "test");
    await until(() => client.handle.status.connects >= 2 ? true : undefined, "a second connection", 20_000);
    const again = await scrape();
    assert.equal(again.get("tsvpn_connections_total"), 2);
    assert.equal(
      again.get('tsvpn_connection_ends_total{kind="server-restart"}'),
      1,
      [...again.keys()].join(),
    );
    assert.ok(
      again.get('tsvpn_tunnel_bytes_total{direction="out"}')! >=
        up.get('tsvpn_tunnel_bytes_total{direction="out"}')!,
    );
  } finally {
    await lab.close();
  }
});

/** A client that never connects: status, no datapath, `done` resolved by stop(). */
function idleClient() {
  let finish!: (code: number) => void;
  const done = new Promise<number>((r) => finish = r);
  const stops: string[] = [];
  return {
    stops,
    client: {
      status: { state: "connecting", connects: 0 },
      datapath: null,
      done,
      on: () => {},
      stop: (reason: string) => {
        stops.push(reason);
        finish(0);
      },
    },
  };
}

Deno.test("serveClientMetrics(): serves until the client is done; a port it cannot bind stops the client", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (blocker.addr as Deno.NetAddr).port;
    const lines: string[] = [];
    const log = new Logger({ sink: (l) => lines.push(l) });
    const config = (p: number) => ({ metrics: { listen: { host: "127.0.0.1", port: p } } }) as ClientConfig;

    const refused = idleClient();
    assert.equal(serveClientMetrics(config(port), refused.client, log), null);
    assert.deepEqual(refused.stops, ["metrics listener failed"]);
    assert.ok(lines.some((l) => l.includes(`client could not start: metrics listener on 127.0.0.1:${port}`)));

    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const freePort = (free.addr as Deno.NetAddr).port;
    free.close();
    const ok = idleClient();
    const closed = serveClientMetrics(config(freePort), ok.client, log);
    assert.ok(closed !== null);
    const text = await (await fetch(`http://127.0.0.1:${freePort}/metrics`)).text();
    assert.equal(parseMetricsText(text).get("tsvpn_connected"), 0);
    ok.client.stop("test over");
    await ok.client.done;
    await closed;
    await untilAsync(async () => {
      try {
        await (await fetch(`http://127.0.0.1:${freePort}/metrics`)).body?.cancel();
        return false;
      } catch {
        return true;
      }
    }, { what: "the listener to close with the client" });
  } finally {
    blocker.close();
  }
});
