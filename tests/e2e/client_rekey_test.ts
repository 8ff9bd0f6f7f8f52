/**
 * The tsvpn client across data-channel renegotiations (soft resets), with a
 * continuous ping through the tunnel, in namespaces on the e2e switch
 * (support/lab.ts):
 *
 *   +------ srv (172.31.0.1) ------+     +-- sw --+     +------ cli (172.31.0.11) ------+
 *   | openvpn --server or tsvpn     |=====| br0    |=====| tsvpn --client (main.ts)      |
 *   | tun 10.8.0.1/24               |     +--------+     | tsvpn0 10.8.0.2/24            |
 *   +-------------------------------+                    +-------------------------------+
 *
 * Each case renegotiates every 4 s while `ping -i 0.2` runs for 12 s: at least
 * two soft resets happen under traffic, and at most two pings may be lost (the
 * replaced key keeps opening packets through the transition window, so a
 * switch loses nothing in the normal case). The logs show the key-ids advance.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess, serverYaml } from "./support/lab.ts";
import { type PairRig, tsvpnClientUp, withPair } from "./support/pair.ts";
import { OPENVPN } from "../interop/openvpn_harness.ts";

const PINGS = 60;
const MAX_LOST = 2;

/** A stock openvpn 2.6 server on 172.31.0.1:1194/udp, tun, subnet 10.8.0.0/24, tls-crypt. */
async function openvpnServer(r: PairRig, extra: string[]): Promise<LoggedProcess> {
  const p = r.lab.spawnLogged(r.srv, "openvpn", [
    OPENVPN!,
    ..."--server 10.8.0.0 255.255.255.0 --topology subnet --dev tun --proto udp --dh none".split(" "),
    ..."--keepalive 2 10 --verb 4".split(" "),
    ...["--ca", r.pki.ca, "--cert", r.pki.cert, "--key", r.pki.key, "--tls-crypt", r.pki.tlsCrypt],
    ...extra,
  ]);
  await p.waitFor(/Initialization Sequence Completed/, 15_000);
  return p;
}

/** Pings the server's tunnel address PINGS times, 0.2 s apart: how many got no answer, and when it ran. */
async function pingRun(r: PairRig): Promise<{ lost: number; output: string; from: number; to: number }> {
  assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 5000), "the tunnel carries traffic before the test");
  const from = Date.now();
  const argv = ["ping", "-n", "-c", String(PINGS), "-i", "0.2", "-W", "1", "10.8.0.1"];
  const res = await r.lab.exec(r.cli, argv, false);
  const to = Date.now();
  const m = res.stdout.match(/(\d+) packets transmitted, (\d+) received/);
  assert.ok(m, res.stdout + res.stderr);
  assert.equal(Number(m[1]), PINGS);
  return { lost: PINGS - Number(m[2]), output: res.stdout, from, to };
}

/** Key-ids the client completed, with their log timestamps (ms). */
function clientKeys(log: string): { keyId: number; at: number }[] {
  const re = /^(\S+) INFO {2}\[client\/control\] key negotiation complete keyId=(\d)/gm;
  return [...log.matchAll(re)].map((m) => ({ keyId: Number(m[2]), at: Date.parse(m[1]) }));
}

interface Case {
  name: string;
  /** Starts the server in r.srv; resolves once it serves. */
  server: (r: PairRig) => Promise<LoggedProcess>;
  /** Extra client YAML lines. */
  client: string[];
  /** How the server's log shows each new data key (one match per key, the first one included). */
  serverKeys: RegExp;
}

const tsvpnServer = (extra: string[]) => (r: PairRig) =>
  r.lab.startServer(
    r.srv,
    "server",
    serverYaml({
      pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
      server: "  network: 10.8.0.0/24",
      extra,
    }),
  );

// openvpn logs no key-ids below verb 7; each new data key shows as one "Outgoing Data Channel" line.
const OPENVPN_KEY = /Outgoing Data Channel: Cipher/g;
// tsvpn logs the first key as the client connecting and every later one with its key-id.
const TSVPN_KEY = /client connected cn=alice|data keys renewed cn=alice keyId=\d/g;

const cases: Case[] = [
  {
    name:
      "runClient() against openvpn --reneg-sec 4 loses at most 2 pings across server-initiated soft resets",
    server: (r) => openvpnServer(r, ["--reneg-sec", "4"]),
    client: [],
    serverKeys: OPENVPN_KEY,
  },
  {
    name: "runClient() with data.reneg_seconds 4 renegotiates with a stock openvpn server and keeps pinging",
    server: (r) => openvpnServer(r, []),
    client: ["data: { reneg_seconds: 4 }"],
    serverKeys: OPENVPN_KEY,
  },
  {
    name: "runClient() against runServer with data.reneg_seconds 4 loses at most 2 pings across soft resets",
    server: tsvpnServer(["data: { reneg_seconds: 4 }"]),
    client: [],
    serverKeys: TSVPN_KEY,
  },
  {
    name: "runClient() with data.reneg_seconds 4 renegotiates with runServer and keeps pinging",
    server: tsvpnServer([]),
    client: ["data: { reneg_seconds: 4 }"],
    serverKeys: TSVPN_KEY,
  },
];

for (const c of cases) {
  Deno.test({
    name: c.name,
    ignore: e2eIgnore(),
    fn: () =>
      withPair(async (r) => {
        const server = await c.server(r);
        let client: LoggedProcess | null = null;
        try {
          client = await tsvpnClientUp(r, c.client);
          const run = await pingRun(r);
          const log = client.log();
          const keys = clientKeys(log);
          const during = keys.filter((k) => k.at >= run.from && k.at <= run.to);
          assert.ok(during.length >= 2, `soft resets during the ping: ${JSON.stringify(keys)}\n${log}`);
          assert.deepEqual(keys.map((k) => k.keyId), keys.map((_, i) => i), "key-ids 0, 1, 2, … in order");
          assert.ok(run.lost <= MAX_LOST, `${run.lost} pings lost:\n${run.output}\n${log}`);
          assert.doesNotMatch(log, /reconnecting|tunnel up again/, "no soft reset cost the connection");
          const serverKeys = server.log().match(c.serverKeys) ?? [];
          assert.ok(serverKeys.length >= keys.length - 1, `server keys ${serverKeys.join("; ")}`);
          if (c.serverKeys === TSVPN_KEY) assert.match(server.log(), /data keys renewed cn=alice keyId=2/);
          console.log(
            `  ${run.lost}/${PINGS} pings lost; client key-ids ${keys.map((k) => k.keyId).join(",")}`,
          );
        } finally {
          if (client) assert.equal(await client.stop(10_000), 0, client.log());
          await server.stop();
        }
      }),
  });
}
