import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import { parseConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import type { Lease } from "../pool/address_pool.ts";
import type { ClientRecord } from "./client_record.ts";
import { applyReload, planReload, type ReloadTargets, restartKey } from "./server_reload.ts";

const BASE = [
  "mode: server",
  "listen: { host: 0.0.0.0, port: 1194, proto: udp }",
  "dev: { type: tun, name: tsvpn0 }",
  "pki: { ca: /pki/ca.crt, cert: /pki/s.crt, key: /pki/s.key, crl: /pki/crl.pem }",
  "keepalive: { interval: 10, timeout: 60 }",
  "server:",
  "  network: 10.8.0.0/24",
  "  push: { routes: [172.16.0.0/16] }",
  "  clients:",
  "    alice: { iroutes: [192.168.1.0/24] }",
  "    bob: { address: 10.8.0.20 }",
  "",
].join("\n");

function config(text = BASE): ServerConfig {
  return parseConfig(text, "/etc/tsvpn/server.yaml") as ServerConfig;
}

Deno.test("restartKey() names the first key that needs a restart, as written in YAML, and ignores the live ones", () => {
  const cases: [string, string, string | null][] = [
    ["port: 1194", "port: 1195", "listen.port"],
    ["proto: udp", "proto: tcp", "listen.proto"],
    ["name: tsvpn0", "name: tsvpn1", "dev.name"],
    ["network: 10.8.0.0/24", "network: 10.8.0.0/23", "server.network"],
    ["timeout: 60", "timeout: 90", "keepalive.timeout"],
    ["crl: /pki/crl.pem", "crl: /pki/crl2.pem", "pki.crl"],
    ["  network: 10.8.0.0/24\n", "  network: 10.8.0.0/24\n  max_clients: 5\n", "server.max_clients"],
    ["  network: 10.8.0.0/24\n", "  network: 10.8.0.0/24\n  topology: p2p\n", "server.topology"],
    ["routes: [172.16.0.0/16]", "routes: [172.17.0.0/16]", null],
    ["alice: { iroutes: [192.168.1.0/24] }", "alice: { disabled: true }", null],
    [
      "  network: 10.8.0.0/24\n",
      "  network: 10.8.0.0/24\n  routes: [192.168.7.0/24]\n  client_config_dir: /ccd\n  scripts: { learn_address: /la.sh }\n",
      null,
    ],
  ];
  for (const [from, to, key] of cases) {
    assert.equal(restartKey(config(), config(BASE.replace(from, to))), key, `${from} → ${to}`);
  }
  assert.equal(restartKey(config(), config()), null);
});

function rec(name: string, ipv4: string, o: Partial<ClientRecord> = {}): ClientRecord {
  const lease = { name, slot: 0, fixed: false, ipv4: parseIpv4(ipv4), ipv4Remote: null, ipv6: null } as Lease;
  return {
    name,
    lease,
    override: config().server.clients.get(name) ?? null,
    inheritPush: true,
    planned: false,
    extraPush: [],
    ...o,
  } as ClientRecord;
}

Deno.test("planReload() reconnects only whom a change affects, updates an iroute change in place and disconnects the disabled", () => {
  const alice = rec("alice", "10.8.0.2"), bob = rec("bob", "10.8.0.20"), carol = rec("carol", "10.8.0.3");
  const dave = rec("dave", "10.8.0.4"), erin = rec("erin", "10.8.0.5", { planned: true });
  const next = config(
    BASE.replace("192.168.1.0/24", "192.168.2.0/24").replace("address: 10.8.0.20", "address: 10.8.0.21") +
      "    carol: { disabled: true }\n    frank: { address: 10.8.0.4 }\n    erin: { iroutes: [10.1.0.0/16] }\n",
  );
  const plan = planReload(config(), next, [alice, bob, carol, dave, erin]);
  assert.deepEqual(plan.update.map((u) => [u.rec.name, u.override.iroutes.map((p) => p.text)]), [
    ["alice", ["192.168.2.0/24"]],
  ]);
  assert.deepEqual(
    plan.reconnect.map((r) => r.name),
    ["bob", "dave", "erin"],
    "new static, address taken, planned",
  );
  assert.deepEqual(plan.disconnect.map((r) => r.name), ["carol"]);
  assert.deepEqual([...plan.statics], [["bob", { ipv4: "10.8.0.21" }], ["frank", { ipv4: "10.8.0.4" }]]);
});

Deno.test("planReload(): a server.push change reconnects clients that inherit it and spares those after push-reset", () => {
  const a = rec("alice", "10.8.0.2"), z = rec("zed", "10.8.0.9", { inheritPush: false, planned: true });
  const plan = planReload(config(), config(BASE.replace("172.16.0.0/16", "172.17.0.0/16")), [a, z]);
  assert.deepEqual(plan.reconnect.map((r) => r.name), ["alice"]);
  assert.deepEqual([plan.update, plan.disconnect], [[], []]);
});

Deno.test("applyReload() changes the live configuration in place, frees statics before taking them (a swap works) and reports what it could not apply", async () => {
  const current = config();
  const calls: string[] = [];
  const targets: ReloadTargets = {
    registry: {
      connected: () => [rec("bob", "10.8.0.20")],
      reconnect: (r, reason) => calls.push(`reconnect ${r.name}: ${reason}`),
      update: (r) => calls.push(`update ${r.name}`),
    },
    pool: { setStatic: (name, spec) => calls.push(`static ${name} ${spec?.ipv4 ?? "none"}`) },
    replaceRoutes: (before, after) => {
      calls.push(`routes ${before.map((p) => p.text)} → ${after.map((p) => p.text)}`);
      return Promise.resolve([]);
    },
    reloadCrl: () => Promise.reject(new Error("CRL signature does not verify\nmore")),
  };
  const next = config(
    BASE.replace("address: 10.8.0.20", "address: 10.8.0.30") + "    carol: { address: 10.8.0.20 }\n".replace(
      "  network: 10.8.0.0/24\n",
      "",
    ),
  );
  next.server.routes =
    config(BASE.replace("  network: 10.8.0.0/24\n", "  network: 10.8.0.0/24\n  routes: [192.168.9.0/24]\n"))
      .server.routes;
  const summary = await applyReload(current, next, targets);
  assert.equal(
    summary,
    "1 client(s) reconnected, 0 updated, 0 disconnected; not applied: CRL: CRL signature does not verify",
  );
  assert.deepEqual(calls, [
    "reconnect bob: settings changed by a configuration reload",
    "static bob none",
    "static carol none",
    "static bob 10.8.0.30",
    "static carol 10.8.0.20",
    "routes  → 192.168.9.0/24",
  ]);
  assert.equal(current.server.clients.get("carol")?.address?.text, "10.8.0.20");
  assert.equal(current.server.routes[0].text, "192.168.9.0/24");
});
