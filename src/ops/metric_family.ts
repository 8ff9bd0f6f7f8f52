/**
 * Metrics as plain data: the server and the client describe what they count
 * as families (name, help, type, samples); `metrics_text.ts` renders them in
 * the Prometheus text format. Names follow Prometheus' conventions
 * (docs/observability.md): a `tsvpn_` prefix, `_total` on counters, base units
 * (`_bytes`, `_seconds`).
 */

export interface MetricSample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge";
  /** Every label a sample of this family may carry (each sample carries all of them). */
  labelNames?: readonly string[];
  samples: MetricSample[];
}

/** What the HTTP listener scrapes: the families of a running server or client. */
export interface MetricsSource {
  families(): MetricFamily[];
  /** Plaintext bytes through the tunnel so far (received from peers, sent to peers), for the traffic graph. */
  trafficTotals(): { bytesIn: number; bytesOut: number };
}

/** One sample per key of `record`, labelled `label`=key. */
export function samplesByLabel(label: string, record: Record<string, number>): MetricSample[] {
  return Object.entries(record).map(([k, value]) => ({ labels: { [label]: k }, value }));
}
