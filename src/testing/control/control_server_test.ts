import assert from "node:assert/strict";
import { controlServer } from "./control_server.ts";

const LOCAL: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: 4242 };

/** A receive loop that ends with `error` when released, like a socket's loop when the socket closes. */
function loop(error: Error | null) {
  let release = () => {};
  const released = new Promise<void>((resolve) => release = resolve);
  const seen: boolean[] = [];
  const receive = async (closed: () => boolean) => {
    seen.push(closed());
    await released;
    seen.push(closed());
    if (error) throw error;
  };
  return { receive, release, seen };
}

Deno.test("controlServer() stops once, and the loop's error after close() ends it quietly", async () => {
  const l = loop(new Error("socket closed"));
  let stops = 0;
  const server = controlServer(LOCAL, l.receive, () => {
    stops++;
    l.release();
  });
  assert.equal(server.port, 4242);
  assert.equal(server.hostname, "127.0.0.1");
  server.close();
  server.close();
  await server.done;
  assert.equal(stops, 1);
  assert.deepEqual(l.seen, [false, true]);
});

Deno.test("controlServer() passes on a loop's error that came before close()", async () => {
  const l = loop(new Error("listener failed"));
  const server = controlServer(LOCAL, l.receive, () => {});
  l.release();
  await assert.rejects(() => server.done, /listener failed/);
});
