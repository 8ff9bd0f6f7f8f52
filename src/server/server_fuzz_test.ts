/**
 * The authenticated-state fuzz of src/control/auth_fuzz_test.ts through the
 * whole server: the real startServer (tls-crypt) and a real tsvpn client over
 * the in-memory network (src/testing/server/lab.ts), so every frame takes the
 * server's receive path — socket batch, datapath classification, the
 * transport's control hand-off, the listener, the session or the DataChannel.
 *
 * TSVPN_FUZZ_FRAMES (default 100 000) mutated copies of the genuine datagrams
 * of a handshake and a ping exchange: to the server from a stranger's address
 * and from the client's own (spoofed) endpoint, and to the client from the
 * server's (spoofed) endpoint. Keepalive is off, so nothing else moves. In
 * batches the server snapshot (clients with their byte, packet and activity
 * counters, routes) and the client's DataChannel on the server (packet-ids,
 * counters, replay window) must stay equal, the drop counters must grow by
 * exactly the frames fed, the stranger gets no answer, and afterwards the
 * client is still on its first connection and the tunnel carries packets.
 */

import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import { Draw, fuzzFrames, mutate } from "../testing/control/mutate.ts";
import { FakeSocket } from "../testing/datapath/fake_network.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { Lab, type LabClient, type LabServer, SERVER_ADDRESS } from "../testing/server/lab.ts";
import { until } from "../testing/wait.ts";

const FUZZ_FRAMES = fuzzFrames();
const BATCH = 5000;
const SEED = 0x5e7f022;
const CLIENT = "192.168.1.10";
const CLIENT_PORT = 40000;
const STRANGER = "192.168.1.200";

function serverState(server: LabServer) {
  const snap = server.handle.control.snapshot();
  return {
    clients: JSON.stringify(snap.clients),
    routes: JSON.stringify(snap.routes),
    channel: server.handle.datapath.peers.channels[0]?.snapshot() ?? "none",
  };
}

const dropTotal = (server: LabServer) =>
  Object.values(server.handle.control.snapshot().drops).reduce((a, b) => a + b, 0);

/** Carries one ping each way through the tunnel, waiting until it comes out of the other device. */
async function pingBothWays(server: LabServer, client: LabClient, seq: number): Promise<void> {
  const up = buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1", seq, payloadLen: 32 });
  const down = buildIcmpEcho({ src: "10.8.0.1", dst: "10.8.0.2", seq, payloadLen: 32 });
  client.device.inject(up);
  server.device.inject(down);
  const out = (written: Uint8Array[], p: Uint8Array) =>
    written.some((w) => w.length === p.length && w.every((b, i) => b === p[i]));
  await until(() => out(server.device.written, up) && out(client.device.written, down), {
    what: `ping ${seq} through the tunnel both ways`,
    timeoutMs: 30_000,
  });
}

Deno.test({
  name: `${FUZZ_FRAMES} mutated datagrams through the whole server (tls-crypt) and at its client change no ` +
    `server state, are all counted as drops, and the tunnel still carries packets`,
  fn: async () => {
    const lab = await Lab.create();
    try {
      const server = await lab.startServer({ keepalive: "{ interval: 3600, timeout: 7200 }" });
      const client = lab.startClient("client1");
      await client.handle.waitConnected(60_000);
      await pingBothWays(server, client, 1);
      const toServer = `${parseIpv4(SERVER_ADDRESS) >>> 0}:1194`;
      const fromClient = `${parseIpv4(CLIENT) >>> 0}:${CLIENT_PORT}`;
      const upstream = lab.network.log.filter((d) => d.from === fromClient && d.to === toServer).map((d) =>
        d.bytes
      );
      const downstream = lab.network.log.filter((d) => d.from === toServer && d.to === fromClient).map((d) =>
        d.bytes
      );
      assert.ok(upstream.length >= 5 && downstream.length >= 5, "a handshake and pings were captured");
      const stranger = lab.network.socket(parseIpv4(STRANGER), 5000);
      // Not registered on the network: they only send, with the source address of the peer they spoof.
      const spoofedClient = new FakeSocket(lab.network, parseIpv4(CLIENT), CLIENT_PORT);
      const spoofedServer = new FakeSocket(lab.network, parseIpv4(SERVER_ADDRESS), 1194);
      const toServerRow = stranger.endpoint();
      toServerRow.setIpv4(0, parseIpv4(SERVER_ADDRESS), 1194);
      const toClientRow = stranger.endpoint();
      toClientRow.setIpv4(0, parseIpv4(CLIENT), CLIENT_PORT);

      const d = new Draw(SEED);
      const before = serverState(server);
      const connects = client.handle.status.connects;
      let serverFrames = 0;
      const started = performance.now();
      for (let fed = 0; fed < FUZZ_FRAMES; fed += BATCH) {
        const n = Math.min(BATCH, FUZZ_FRAMES - fed);
        const drops0 = dropTotal(server);
        let toServerNow = 0;
        for (let i = 0; i < n; i++) {
          if (i % 4 === 3) {
            const b = mutate(d, d.pick(downstream));
            spoofedServer.send(b, 0, b.length, toClientRow, 0);
            continue;
          }
          const b = mutate(d, d.pick(upstream));
          (i % 2 === 0 ? stranger : spoofedClient).send(b, 0, b.length, toServerRow, 0);
          toServerNow++;
        }
        serverFrames += toServerNow;
        // Every frame for the server ends as exactly one drop; the client's socket drains.
        await until(() => dropTotal(server) - drops0 >= toServerNow && client.sockets[0].pending === 0, {
          what: `frames ${fed}..${fed + n} handled`,
          timeoutMs: 60_000,
          detail: () => `${dropTotal(server) - drops0} of ${toServerNow} counted`,
        });
        assert.equal(dropTotal(server) - drops0, toServerNow, "one drop per frame, no more");
        assert.deepEqual(
          serverState(server),
          before,
          `server state changed within frames ${fed}..${fed + n}`,
        );
      }
      const ms = performance.now() - started;
      console.log(
        `server fuzz: ${FUZZ_FRAMES} datagrams (${serverFrames} to the server, ${
          FUZZ_FRAMES - serverFrames
        } to the client) in ${Math.round(ms)} ms, ${Math.round(FUZZ_FRAMES / ms * 1000)}/s; drops ${
          JSON.stringify(Object.fromEntries(
            Object.entries(server.handle.control.snapshot().drops).filter(([, v]) => v > 0),
          ))
        }`,
      );
      assert.equal(stranger.pending, 0, "the stranger got no answer");
      assert.equal(client.handle.status.connects, connects, "the client is still on its first connection");
      assert.deepEqual(client.ends, []);
      await pingBothWays(server, client, 2);
      assert.notDeepEqual(serverState(server), before, "genuine packets do change the snapshot");
    } finally {
      await lab.close();
    }
  },
});
