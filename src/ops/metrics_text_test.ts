import assert from "node:assert/strict";
import { parseMetricsText, promtoolCheck } from "../testing/ops/prometheus_text.ts";
import { renderMetrics } from "./metrics_text.ts";
import { processFamilies } from "./process_metrics.ts";

Deno.test("renderMetrics(): HELP, TYPE and samples; a certificate name cannot break out of its label", async () => {
  const hostile = 'evil"} 1\ntsvpn_fake_total 999\n#';
  const text = await renderMetrics([
    {
      name: "tsvpn_client_bytes_total",
      help: "per client\nwith a newline",
      type: "counter",
      labelNames: ["client", "direction"],
      samples: [{ labels: { client: hostile, direction: "in" }, value: 5 }],
    },
    { name: "tsvpn_clients_connected", help: "clients", type: "gauge", samples: [{ value: 0 }] },
  ]);
  assert.ok(text.includes("# HELP tsvpn_client_bytes_total per client\\nwith a newline\n"), text);
  assert.ok(text.includes("# TYPE tsvpn_client_bytes_total counter\n"), text);
  assert.ok(text.includes("# TYPE tsvpn_clients_connected gauge\n"), text);
  const samples = parseMetricsText(text);
  assert.equal(samples.get("tsvpn_fake_total"), undefined, "no injected series");
  assert.equal(
    samples.get('tsvpn_client_bytes_total{client="evil\\"} 1\\ntsvpn_fake_total 999\\n#",direction="in"}'),
    5,
  );
  assert.equal(samples.get("tsvpn_clients_connected"), 0);
  await promtoolCheck(text);
});

Deno.test("processFamilies(): RSS, CPU seconds and start time under their standard names", async () => {
  const text = await renderMetrics(processFamilies({
    rssBytes: () => 52_000_000,
    cpuMicros: () => 1_500_000,
    startTimeSeconds: 1_700_000_000,
  }));
  const m = parseMetricsText(text);
  assert.equal(m.get("process_resident_memory_bytes"), 52_000_000);
  assert.equal(m.get("process_cpu_seconds_total"), 1.5);
  assert.equal(m.get("process_start_time_seconds"), 1_700_000_000);
  await promtoolCheck(text);
});
