import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import { applyDirectives, basePlan } from "./client_directives.ts";

function yamlEntry(lines: string) {
  const config = parseConfig(
    `mode: server\npki: { ca: a, cert: b, key: c }\nserver:\n  network: 10.8.0.0/24\n  clients:\n${lines}`,
    "/etc/tsvpn/server.yaml",
  ) as ServerConfig;
  return config.server.clients.get("alice")!;
}

Deno.test("applyDirectives() applies a ccd file and then client-connect output in OpenVPN's order: the last ifconfig-push wins, iroutes and pushes add up", () => {
  const plan = basePlan("alice", yamlEntry("    alice: { address: 10.8.0.9, iroutes: [192.168.1.0/24] }\n"));
  applyDirectives(
    plan,
    'ifconfig-push 10.8.0.50 255.255.255.0\niroute 192.168.2.0 255.255.255.0\npush "route 172.16.0.0 255.255.0.0"\n',
    "/ccd/alice",
  );
  applyDirectives(
    plan,
    "ifconfig-push 10.8.0.60 255.255.255.0\niroute 192.168.1.0\niroute-ipv6 fd00:1::/64\n",
    "client-connect",
  );
  assert.equal(plan.override.address?.text, "10.8.0.60");
  assert.deepEqual(plan.override.iroutes.map((p) => p.text), [
    "192.168.1.0/24",
    "192.168.2.0/24",
    "192.168.1.0/32",
  ]);
  assert.deepEqual(plan.override.iroutes6.map((p) => p.text), ["fd00:1::/64"]);
  assert.deepEqual(plan.extraPush, ["route 172.16.0.0 255.255.0.0"]);
  assert.equal(plan.inheritPush, true);
  assert.equal(plan.override.disabled, false);
  assert.deepEqual(plan.skipped, []);
});

Deno.test("applyDirectives(): push-reset drops what was inherited and pushed before it, not what follows; disable refuses", () => {
  const plan = basePlan("alice", yamlEntry("    alice: { push: { routes: [10.1.0.0/16] } }\n"));
  applyDirectives(
    plan,
    'push "route 10.2.0.0 255.255.0.0"\npush-reset\npush "route 10.3.0.0 255.255.0.0"\n',
    "f",
  );
  assert.equal(plan.inheritPush, false);
  assert.deepEqual(plan.override.push.routes, []);
  assert.deepEqual(plan.extraPush, ["route 10.3.0.0 255.255.0.0"]);
  applyDirectives(plan, "disable\n", "client-connect");
  assert.equal(plan.override.disabled, true);
});

Deno.test("applyDirectives() skips, with file:line and why, what it does not apply: unknown options, bad arguments, pushes of server-owned options or with commas", () => {
  const plan = basePlan("bob", null);
  applyDirectives(
    plan,
    [
      "comp-lzo yes",
      "ifconfig-push 300.1.1.1 255.255.255.0",
      "iroute 192.168.1.1 255.255.255.0",
      'push "peer-id 7"',
      'push "route 1.2.3.0 255.255.255.0,ifconfig 1.1.1.1 1.1.1.2"',
      'push "dhcp-option DNS 10.8.0.1"',
    ].join("\n"),
    "/ccd/bob",
  );
  assert.equal(plan.override.address, null);
  assert.deepEqual(plan.override.iroutes, []);
  assert.deepEqual(plan.extraPush, ["dhcp-option DNS 10.8.0.1"]);
  assert.equal(plan.skipped.length, 5, plan.skipped.join("\n"));
  assert.match(plan.skipped[0], /^\/ccd\/bob:1 comp-lzo yes: not a per-client option/);
  assert.match(plan.skipped[1], /\/ccd\/bob:2.*ifconfig-push.*IPv4 address/);
  assert.match(plan.skipped[2], /\/ccd\/bob:3.*host bits zero/);
  assert.match(plan.skipped[3], /:4 push "?peer-id 7"?: the server decides peer-id itself/);
  assert.match(plan.skipped[4], /:5 .*without commas/);
});

Deno.test("basePlan() copies the YAML entry, so a ccd file never changes the configuration", () => {
  const entry = yamlEntry("    alice: { iroutes: [192.168.1.0/24] }\n");
  const plan = basePlan("alice", entry);
  applyDirectives(plan, "iroute 192.168.9.0 255.255.255.0\npush-reset\n", "f");
  assert.deepEqual(entry.iroutes.map((p) => p.text), ["192.168.1.0/24"]);
});
