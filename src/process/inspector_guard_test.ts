import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { until } from "../testing/wait.ts";
import { InspectorGuard } from "./inspector_guard.ts";

function logged(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level: "debug", sink: (l) => lines.push(l) }), lines };
}

Deno.test("InspectorGuard holds its port and closes every connection at once", async () => {
  const { log } = logged();
  const guard = new InspectorGuard({ log, address: { hostname: "127.0.0.1", port: 0 } });
  try {
    assert.ok(guard.holding);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: guard.port! });
    const n = await conn.read(new Uint8Array(16));
    conn.close();
    assert.equal(n, null, "the guard closed the connection without a byte");
  } finally {
    guard.close();
  }
});

Deno.test("InspectorGuard warns once while another process holds the port and takes it when it is free", async () => {
  const other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (other.addr as Deno.NetAddr).port;
  const { log, lines } = logged();
  const guard = new InspectorGuard({ log, address: { hostname: "127.0.0.1", port }, retryMs: 20 });
  try {
    assert.equal(guard.holding, false);
    assert.equal(lines.filter((l) => /another process holds the port/.test(l)).length, 1);
    other.close();
    await until(() => guard.holding, {
      what: "the guard took the freed port",
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.equal(guard.port, port);
    assert.ok(lines.some((l) => /holding the SIGUSR1 debugger port now/.test(l)));
    assert.equal(lines.filter((l) => /another process holds the port/.test(l)).length, 1, "warned once");
  } finally {
    guard.close();
  }
});
