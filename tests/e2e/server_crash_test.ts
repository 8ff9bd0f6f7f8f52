/**
 * Server `kill -9` and restart with the default keepalive (ping 10,
 * ping-restart 60): the tsvpn clients notice the dead server by dead-peer
 * detection (src/client/dead_peer.ts, 15 s) instead of ping-restart, and
 * every one is back within 20 s of the kill with the address it had
 * (server.pool_persist). A stock openvpn client in the same run takes its own
 * ping-restart; its figure is printed beside theirs (docs/reliability.md).
 *
 *     srv 172.31.0.1 (tsvpn server) ── sw ── alice, bob (tsvpn), carol (openvpn)
 */

import assert from "node:assert/strict";
import { e2eIgnore, E2eLab, type LoggedProcess, serverYaml } from "./support/lab.ts";
import { createE2ePki } from "./support/pki.ts";
import { inet } from "./support/scenario.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./support/tsvpn_client.ts";
import { until } from "../../src/testing/wait.ts";

/** The contract: every tsvpn client back within this long after the kill. */
const BACK_WITHIN_MS = 20_000;
const TSVPN = ["alice", "bob"];

/** How many times `process` logged `re`. */
function count(process: LoggedProcess, re: RegExp): number {
  return process.log().match(new RegExp(re.source, "g"))?.length ?? 0;
}

/** Milliseconds from `sinceWall` (Date.now()) to the logged time of the last line of `process` matching `re`. */
function loggedAfter(process: LoggedProcess, re: RegExp, sinceWall: number): number {
  const line = process.log().split("\n").findLast((l) => re.test(l));
  return line ? Date.parse(line.split(" ")[0]) - sinceWall : NaN;
}

/** Milliseconds from `since` until `process` has logged `re` more than `already` times. */
async function backAfter(
  process: LoggedProcess,
  re: RegExp,
  already: number,
  since: number,
  hangMs: number,
): Promise<number> {
  await process.waitForLog(() => count(process, re) > already, `${process.logPath}: ${re} again`, hangMs);
  return Math.round(performance.now() - since);
}

Deno.test({
  name:
    "server kill -9 and restart, default keepalive: every tsvpn client back with the same address within 20 s (dead peer), openvpn's ping-restart measured beside",
  ignore: e2eIgnore(),
  async fn() {
    const pki = await createE2ePki([...TSVPN, "carol"]);
    const lab = new E2eLab(pki.dir);
    try {
      await lab.init();
      const srv = await lab.host("srv", "172.31.0.1/24");
      const ns: Record<string, string> = {};
      for (const [i, name] of [...TSVPN, "carol"].entries()) {
        ns[name] = await lab.host(name, `172.31.0.${11 + i}/24`);
      }
      const yaml = serverYaml({
        pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl },
        keepalive: "{ interval: 10, timeout: 60 }", // the defaults, spelled out
        server: `  network: 10.8.0.0/24\n  pool_persist: ${pki.dir}/pool.json\n`,
      });
      let server = await lab.startServer(srv, "server1", yaml);
      const clients: Record<string, LoggedProcess> = {};
      for (const name of TSVPN) {
        const config = await tsvpnClientConfig(pki, name, "172.31.0.1:1194");
        clients[name] = startTsvpnClient(lab, ns[name], name, config);
      }
      const carol = lab.startClient(ns.carol, "carol", await pki.profile("carol", "172.31.0.1:1194"));
      for (const name of TSVPN) await clients[name].waitFor(/tunnel up/, 25_000);
      await carol.waitFor(/Initialization Sequence Completed/, 25_000);

      const before: Record<string, string[]> = {};
      for (const name of [...TSVPN, "carol"]) {
        before[name] = inet(await lab.addresses(ns[name], name === "carol" ? "tun0" : "tsvpn0"));
        assert.equal(before[name].length, 1, `${name}: ${before[name]}`);
      }
      // The pool file is written within a second of a change; a crash before that forgets the lease.
      await until(async () => {
        const text = await Deno.readTextFile(`${pki.dir}/pool.json`).catch(() => "");
        return ["alice", "bob", "carol"].every((n) => text.includes(`"${n}"`));
      }, { what: "every lease in pool.json", timeoutMs: 10_000 });

      const ups = Object.fromEntries(TSVPN.map((n) => [n, count(clients[n], /tunnel up/)]));
      const carolUps = count(carol, /Initialization Sequence Completed/);
      const killedAt = performance.now();
      const killedAtWall = Date.now();
      server.proc.kill("SIGKILL");
      await server.proc.status;
      server = await lab.startServer(srv, "server2", yaml);
      const restartMs = Math.round(performance.now() - killedAt);

      // Hang bounds are 3x the contract; the contract itself is asserted on the figures.
      const back = await Promise.all(
        TSVPN.map((n) => backAfter(clients[n], /tunnel up/, ups[n], killedAt, 3 * BACK_WITHIN_MS)),
      );
      for (const name of TSVPN) {
        assert.match(clients[name].log(), /\(dead peer\); reconnecting now/, `${name} saw the dead peer`);
        assert.match(clients[name].log(), /tunnel up again, nothing changed/, `${name}: same push`);
        assert.deepEqual(
          inet(await lab.addresses(ns[name], "tsvpn0")),
          before[name],
          `${name}: same address`,
        );
        const address = before[name][0].split("/")[0];
        assert.ok(await lab.pingUntil(srv, address, 10_000), `the restarted server reaches ${name}`);
      }
      const carolMs = await backAfter(
        carol,
        /Initialization Sequence Completed/,
        carolUps,
        killedAt,
        180_000,
      );
      assert.deepEqual(inet(await lab.addresses(ns.carol, "tun0")), before.carol, "carol: same address");
      const detected = TSVPN.map((n) => loggedAfter(clients[n], /\(dead peer\)/, killedAtWall));
      console.log(
        `server kill -9: restarted in ${restartMs} ms; tsvpn clients saw the dead peer after ` +
          `${detected.join(", ")} ms and were back in ${back.join(", ")} ms ` +
          `(contract ${BACK_WITHIN_MS} ms); stock openvpn client (ping-restart 60) back in ${carolMs} ms`,
      );
      for (const [i, ms] of back.entries()) {
        assert.ok(ms <= BACK_WITHIN_MS, `${TSVPN[i]} back after ${ms} ms, over ${BACK_WITHIN_MS} ms`);
      }
      for (const name of TSVPN) assert.equal(await clients[name].stop(10_000), 0);
      await server.stop();
    } finally {
      await lab.close();
      await pki.cleanup();
    }
  },
});
