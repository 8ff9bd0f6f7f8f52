/**
 * The server's status log line (SIGUSR2) and its counters, for e2e tests
 * that read server counters without a management listener.
 */

import { until } from "../../../src/testing/wait.ts";
import type { LoggedProcess } from "./lab.ts";

/** Sends SIGUSR2 and returns the status line it logs. */
export async function statusLine(server: LoggedProcess): Promise<string> {
  const statusLines = () => server.log().split("\n").filter((l) => / status /.test(l));
  const before = statusLines().length;
  server.proc.kill("SIGUSR2");
  await until(() => statusLines().length > before, { what: "a status line after SIGUSR2", timeoutMs: 5000 });
  return statusLines().at(-1)!;
}

/** A `name=N` counter of a status line (0 when absent: the line leaves out zeros). */
export function counter(line: string, name: string): number {
  const m = line.match(new RegExp(`\\b${name}=(\\d+)`));
  return m ? Number(m[1]) : 0;
}
