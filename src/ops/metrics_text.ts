/**
 * Renders metric families in the Prometheus text exposition format through
 * prom-client (its escaping of help text and label values, and its number
 * formatting). A fresh registry per scrape: families come and go with the
 * clients (per-client series), and a scrape every few seconds costs little.
 */

import { Counter, Gauge, Registry } from "prom-client";
import type { MetricFamily } from "./metric_family.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export async function renderMetrics(families: readonly MetricFamily[]): Promise<string> {
  const registry = new Registry();
  for (const f of families) {
    const config = { name: f.name, help: f.help, labelNames: f.labelNames ?? [], registers: [registry] };
    if (f.type === "counter") {
      const counter = new Counter(config);
      for (const s of f.samples) counter.inc(s.labels ?? {}, Math.max(0, s.value));
    } else {
      const gauge = new Gauge(config);
      for (const s of f.samples) gauge.set(s.labels ?? {}, s.value);
    }
  }
  return await registry.metrics();
}
