import assert from "node:assert/strict";
import { ControlListener } from "../../control/listener.ts";
import { serveTcp } from "./tcp_transport.ts";
import { sharedTestPki } from "./pki.ts";
import { pkiVerifier } from "../../control/verifier.ts";
import { closedByServer } from "./tcp.ts";

const pki = await sharedTestPki();

Deno.test({
  name: "serveTcp() closes connections beyond maxConnections and ones that never open a session",
  fn: async () => {
    const listener = new ControlListener({
      credentials: pki.server,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "clientAuth" }),
      wrap: { mode: "none" },
    });
    const srv = serveTcp(listener, { maxConnections: 2, idleMs: 150 });
    const conns: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 3; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port: srv.port }));
      assert.equal(await closedByServer(conns[2], 2000), true, "third connection refused");
      // A frame header announcing 65535 bytes, then silence: the connection must not hold on forever.
      await conns[0].write(Uint8Array.of(0xff, 0xff, 1, 2, 3));
      await conns[1].write(Uint8Array.of(0x00, 0x05, 0xf8, 0, 0, 0, 0)); // a bad opcode, then nothing
      assert.equal(await closedByServer(conns[0], 3000), true, "stalled frame closed");
      assert.equal(await closedByServer(conns[1], 3000), true, "garbage-only connection closed");
      assert.equal(listener.sessionCount, 0);
      assert.ok(listener.drops.total >= 1);
    } finally {
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed by the server
        }
      }
      srv.close();
      await srv.done;
      listener.close();
    }
  },
});
