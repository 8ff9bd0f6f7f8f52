/**
 * The server's /metrics over the in-process lab (real server, real tsvpn
 * clients, fake network): the values follow what happened, survive a
 * disconnect, and the text passes `promtool check metrics` when promtool is
 * installed (Debian's prometheus package; .ci/run installs it).
 */

import assert from "node:assert/strict";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { Lab, until as untilSync } from "../testing/server/lab.ts";
import { until } from "../testing/wait.ts";
import { Logger } from "../log/log.ts";
import { startMetricsHttp } from "../ops/metrics_http.ts";
import { renderMetrics } from "../ops/metrics_text.ts";
import { ClientMetrics } from "../client/client_metrics.ts";
import { parseMetricsText, promtoolCheck } from "../testing/ops/prometheus_text.ts";

Deno.test("server /metrics: clients, handshakes by result and reason, traffic, per-client bytes, pool; totals survive a disconnect", async () => {
  const lab = await Lab.create();
  try {
    const server = await lab.startServer({
      server: ["  network: 10.8.0.0/24", "  metrics: { listen: 127.0.0.1:1 }"],
    });
    const http = startMetricsHttp({
      host: "127.0.0.1",
      port: 0,
      source: server.handle.metrics,
      log: new Logger({ sink: () => {} }),
    });
    lab.onClose(() => http.close());
    const scrape = async () => {
      const res = await fetch(`http://${http.address}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      return await res.text();
    };

    const refused = lab.startClient("revoked1");
    await server.log.waitFor(/client refused cn=revoked1/);
    const client = lab.startClient("client1");
    await client.handle.waitConnected(15_000);
    for (let seq = 1; seq <= 3; seq++) {
      client.device.inject(buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1", seq, payloadLen: 100 }));
    }
    await untilSync(
      () => server.device.written.length >= 3 ? true : undefined,
      "three pings reach the server",
    );

    const text = await scrape();
    const m = parseMetricsText(text);
    assert.equal(m.get("tsvpn_clients_connected"), 1);
    assert.equal(m.get('tsvpn_handshakes_total{result="ok"}'), 1);
    assert.ok(m.get('tsvpn_handshakes_total{result="failed"}')! >= 0);
    assert.ok(m.get('tsvpn_tunnel_packets_total{direction="in"}')! >= 3, text);
    assert.ok(m.get('tsvpn_tunnel_bytes_total{direction="in"}')! >= 3 * 128, text);
    assert.ok(m.get('tsvpn_client_bytes_total{client="client1",direction="in"}')! >= 3 * 128, text);
    assert.equal(m.get("tsvpn_pool_addresses_in_use"), 1);
    assert.equal(m.get("tsvpn_pool_addresses"), 253);
    assert.equal(m.get('tsvpn_dropped_packets_total{layer="data",reason="spoofed"}'), 0);
    assert.ok(m.get("process_resident_memory_bytes")! > 1e6);
    assert.ok(m.get("process_cpu_seconds_total")! > 0);
    await promtoolCheck(text);

    refused.handle.stop();
    await refused.handle.done;
    client.handle.stop();
    await client.handle.done;
    await server.log.waitFor(/client disconnected cn=client1/);
    const after = await until(async () => {
      const m2 = parseMetricsText(await scrape());
      return m2.get("tsvpn_clients_connected") === 0 &&
          m2.get('tsvpn_handshakes_total{result="failed"}')! >= 1
        ? m2
        : undefined;
    }, { what: "the failed handshake and the disconnect show", timeoutMs: 20_000 });
    assert.ok(
      after.get('tsvpn_tunnel_bytes_total{direction="in"}')! >=
        m.get('tsvpn_tunnel_bytes_total{direction="in"}')!,
    );
    assert.equal(after.get('tsvpn_client_bytes_total{client="client1",direction="in"}'), undefined);
    assert.equal(after.get("tsvpn_pool_addresses_in_use"), 0);
    const reasons = [...after.keys()].filter((k) => k.startsWith("tsvpn_handshake_failures_total"));
    assert.ok(reasons.length >= 1, `a failure reason is named: ${reasons}`);
  } finally {
    await lab.close();
  }
});

Deno.test("server /metrics: per-client series are bounded by metrics.client_series, the rest counted as omitted", async () => {
  const lab = await Lab.create(["client2"]);
  try {
    const server = await lab.startServer({
      server: ["  network: 10.8.0.0/24", "  metrics: { listen: 127.0.0.1:1, client_series: 1 }"],
    });
    const first = lab.startClient("client1");
    await first.handle.waitConnected(15_000);
    const second = lab.startClient("client2");
    await second.handle.waitConnected(15_000);
    const rendered = await renderMetrics(server.handle.metrics.families());
    await promtoolCheck(rendered);
    const m = parseMetricsText(rendered);
    const series = [...m.keys()].filter((k) => k.startsWith("tsvpn_client_bytes_total{"));
    assert.deepEqual(series, [
      'tsvpn_client_bytes_total{client="client1",direction="in"}',
      'tsvpn_client_bytes_total{client="client1",direction="out"}',
    ]);
    assert.equal(m.get("tsvpn_client_series_omitted"), 1);
    assert.equal(m.get("tsvpn_clients_connected"), 2);
  } finally {
    await lab.close();
  }
});

Deno.test("mesh metrics: the server counts what it relayed and the pairs by path; a client counts its direct-path bytes", async () => {
  const lab = await Lab.create(["client2"]);
  try {
    const server = await lab.startServer({
      server: [
        "  network: 10.8.0.0/24",
        "  client_to_client: true",
        "  mesh: { enabled: true, punch_timeout: 2 }",
      ],
    });
    const one = lab.startClient("client1");
    await one.handle.waitConnected(15_000);
    const two = lab.startClient("client2");
    await two.handle.waitConnected(15_000);
    const ping = (seq: number) => buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.3", seq, payloadLen: 100 });
    /** A probe for `ping(seq)` having reached client2's device. */
    const arrived = (seq: number) => {
      const want = ping(seq);
      return () =>
        two.device.take().some((p) => p.length === want.length && p.every((v, i) => v === want[i])) ||
        undefined;
    };
    const serverMetrics = async () => parseMetricsText(await renderMetrics(server.handle.metrics.families()));
    // The first ping is relayed (and introduces the pair): wait until the introducer is ready for both.
    await until(async () => {
      one.device.inject(ping(1));
      await untilSync(arrived(1), "ping 1 at client2", 2000).catch(() => undefined);
      return (await serverMetrics()).get("tsvpn_mesh_relayed_packets_total")! >= 1;
    }, { what: "a relayed ping that introduces the pair", timeoutMs: 20_000 });
    await one.log.waitFor(/mesh: path to client2: direct/);
    await two.log.waitFor(/mesh: path to client1: direct/);
    const direct = await until(async () => {
      const m = await serverMetrics();
      return m.get('tsvpn_mesh_pairs{path="direct"}') === 1 && m;
    }, { what: "the server's pair gauge to say direct", timeoutMs: 20_000 });
    const relayed = direct.get("tsvpn_mesh_relayed_bytes_total")!;
    assert.ok(relayed >= 128, `relayed bytes ${relayed}`);
    assert.equal(direct.get('tsvpn_mesh_pairs{path="relayed"}'), 0);
    assert.equal(direct.get('tsvpn_mesh_events_total{event="introduced"}'), 1);
    await promtoolCheck(await renderMetrics(server.handle.metrics.families()));

    for (let seq = 10; seq < 15; seq++) {
      one.device.inject(ping(seq));
      await untilSync(arrived(seq), `direct ping ${seq}`);
    }
    const client = parseMetricsText(await renderMetrics(new ClientMetrics(one.handle).families()));
    assert.ok(
      client.get('tsvpn_mesh_direct_bytes_total{direction="out"}')! >= 5 * 128,
      [...client].join("\n"),
    );
    assert.equal(
      (await serverMetrics()).get("tsvpn_mesh_relayed_bytes_total"),
      relayed,
      "direct pings bypass the relay",
    );
  } finally {
    await lab.close();
  }
});

Deno.test("server /metrics: renegotiations count each data key after a session's first", async () => {
  const lab = await Lab.create();
  try {
    const server = await lab.startServer({ extra: ["data: { reneg_seconds: 2 }"] });
    const client = lab.startClient("client1");
    await client.handle.waitConnected(15_000);
    const metrics = async () => parseMetricsText(await renderMetrics(server.handle.metrics.families()));
    assert.equal((await metrics()).get("tsvpn_renegotiations_total"), 0);
    const after = await until(async () => {
      const m = await metrics();
      return m.get("tsvpn_renegotiations_total")! >= 2 && m;
    }, { what: "two renegotiations (reneg_seconds: 2)", timeoutMs: 20_000, intervalMs: 100 });
    assert.equal(
      after.get('tsvpn_handshakes_total{result="ok"}'),
      1,
      "a renegotiation is not a new handshake",
    );
  } finally {
    await lab.close();
  }
});
