/**
 * The process' own resources under the names every Prometheus dashboard
 * knows (the client libraries' `process_` families): resident memory, CPU
 * seconds (user + system), start time.
 */

import { cpuUsage } from "node:process";
import type { MetricFamily } from "./metric_family.ts";

/** Reads the figures; injected in tests. */
export interface ProcessReadings {
  rssBytes(): number;
  /** User + system CPU time in microseconds. */
  cpuMicros(): number;
  /** Seconds since the epoch the process started. */
  startTimeSeconds: number;
}

export const realProcessReadings: ProcessReadings = {
  rssBytes: () => Deno.memoryUsage().rss,
  cpuMicros: () => {
    const u = cpuUsage();
    return u.user + u.system;
  },
  startTimeSeconds: Math.floor((Date.now() - performance.now()) / 1000),
};

export function processFamilies(r: ProcessReadings = realProcessReadings): MetricFamily[] {
  return [
    {
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
      type: "gauge",
      samples: [{ value: r.rssBytes() }],
    },
    {
      name: "process_cpu_seconds_total",
      help: "Total user and system CPU time spent in seconds.",
      type: "counter",
      samples: [{ value: r.cpuMicros() / 1e6 }],
    },
    {
      name: "process_start_time_seconds",
      help: "Start time of the process since unix epoch in seconds.",
      type: "gauge",
      samples: [{ value: r.startTimeSeconds }],
    },
  ];
}
