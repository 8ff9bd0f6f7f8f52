import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startMetricsHttp } from "../ops/metrics_http.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { parseMetricsText, promtoolCheck } from "../testing/ops/prometheus_text.ts";
import { Lab, until } from "../testing/server/lab.ts";
import { ClientMetrics } from "./client_metrics.ts";

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
