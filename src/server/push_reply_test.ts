import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import { buildPushReplies } from "../control/push_options.ts";
import { poolFromConfig } from "./pool_setup.ts";
import { buildClientPush } from "./push_reply.ts";

const HEAD = "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\n";

function config(server: string): ServerConfig {
  return parseConfig(HEAD + server, "/etc/tsvpn/s.yaml") as ServerConfig;
}

function pushFor(c: ServerConfig, name: string, peerId = 0): string {
  const pool = poolFromConfig(c)!;
  const r = pool.allocate(name);
  assert.ok(r.ok);
  const opts = buildClientPush({
    pool,
    lease: r.lease,
    clientToClient: c.server.clientToClient,
    keepalive: c.keepalive,
    push: c.server.push,
    override: c.server.clients.get(name) ?? null,
    peerId,
  });
  return buildPushReplies(opts, 4096)[0];
}

Deno.test("buildClientPush() gives a subnet client its address, gateway and settings", () => {
  const c = config(`server:
  network: 10.8.0.0/24
  network6: fd00:8::/64
  push:
    routes: [192.168.10.0/24]
    routes6: ["fd00:10::/64"]
    redirect_gateway: [def1, bypass-dhcp]
    dns: [10.8.0.1, "fd00:8::1"]
    domain: corp.internal
`);
  assert.equal(
    pushFor(c, "alice", 3),
    "PUSH_REPLY,redirect-gateway def1 bypass-dhcp,route 192.168.10.0 255.255.255.0,route-ipv6 fd00:10::/64," +
      "dhcp-option DNS 10.8.0.1,dhcp-option DNS6 fd00:8::1,dhcp-option DOMAIN corp.internal," +
      "route-gateway 10.8.0.1,topology subnet,ping 10,ping-restart 60," +
      "ifconfig-ipv6 fd00:8::1000/64 fd00:8::1,ifconfig 10.8.0.2 255.255.255.0,peer-id 3,tun-ipv6",
  );
});

Deno.test("buildClientPush() lays out net30 and p2p addresses as OpenVPN does", () => {
  const net30 = pushFor(config("server:\n  network: 10.8.0.0/24\n  topology: net30\n"), "a");
  assert.match(net30, /,route 10\.8\.0\.1,topology net30,/);
  assert.match(net30, /,ifconfig 10\.8\.0\.6 10\.8\.0\.5,/);
  const p2p = pushFor(config("server:\n  network: 10.8.0.0/24\n  topology: p2p\n"), "a");
  assert.match(p2p, /,ifconfig 10\.8\.0\.4 10\.8\.0\.1,/);
});

Deno.test("buildClientPush() adds per-client routes and static addresses but never the client's own iroutes", () => {
  const c = config(`server:
  network: 10.8.0.0/24
  push: { routes: [192.168.10.0/24, 10.20.0.0/16] }
  clients:
    alice:
      address: 10.8.0.50
      iroutes: [192.168.10.0/24]
      push: { routes: [172.16.0.0/16] }
`);
  const alice = pushFor(c, "alice");
  assert.doesNotMatch(alice, /192\.168\.10\.0/);
  assert.match(alice, /route 10\.20\.0\.0 255\.255\.0\.0,route 172\.16\.0\.0 255\.255\.0\.0/);
  assert.match(alice, /ifconfig 10\.8\.0\.50 255\.255\.255\.0/);
  assert.match(pushFor(c, "bob"), /route 192\.168\.10\.0 255\.255\.255\.0/);
});
