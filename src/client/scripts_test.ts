import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import type { HostPlan } from "./host_plan_types.ts";
import { runScript, scriptArgs, scriptEnv } from "./scripts.ts";

const plan: HostPlan = {
  dev: "tun0",
  mtu: 1500,
  topology: "subnet",
  local4: { address: "10.8.0.2", prefixLen: 24, peer: null, netmask: "255.255.255.0" },
  local6: { address: "fd00:8::1000", prefixLen: 64, peer: null, netmask: null },
  gateway4: "10.8.0.1",
  gateway6: "fd00:8::1",
  netGateway: "192.168.1.1",
  server: { address: "203.0.113.5", port: 1194, proto: "udp" },
  redirect: { ipv4: true, ipv6: true, def1: true, flags: ["def1"] },
  dns: { servers: ["10.8.0.1", "fd00:8::1"], domain: "corp.example", search: ["corp.example"] },
  items: [
    { kind: "address", spec: { dev: "tun0", address: "10.8.0.2", prefixLen: 24 } },
    { kind: "route", via: "outside", spec: { dst: "203.0.113.5/32", gateway: "192.168.1.1", dev: "eth0" } },
    { kind: "route", via: "tunnel", spec: { dst: "0.0.0.0/1", gateway: "10.8.0.1", dev: "tun0" } },
    {
      kind: "route",
      via: "tunnel",
      spec: { dst: "10.20.0.0/16", gateway: "10.8.0.1", dev: "tun0", metric: 5 },
    },
    { kind: "route", via: "tunnel", spec: { dst: "::/1", gateway: "fd00:8::1", dev: "tun0" } },
  ],
  warnings: [],
};

Deno.test("scriptEnv() names the device, addresses, routes, DNS, server and topology", () => {
  const env = scriptEnv(plan, "up", { dhcpOptions: [{ type: "DNS", value: "10.8.0.1" }] });
  assert.deepEqual(env, {
    script_type: "up",
    dev: "tun0",
    dev_type: "tun",
    tun_mtu: "1500",
    topology: "subnet",
    trusted_ip: "203.0.113.5",
    trusted_port: "1194",
    remote_1: "203.0.113.5",
    remote_port_1: "1194",
    proto_1: "udp",
    ifconfig_local: "10.8.0.2",
    ifconfig_netmask: "255.255.255.0",
    ifconfig_ipv6_local: "fd00:8::1000",
    ifconfig_ipv6_netbits: "64",
    ifconfig_ipv6_remote: "fd00:8::1",
    route_vpn_gateway: "10.8.0.1",
    route_net_gateway: "192.168.1.1",
    redirect_gateway: "def1",
    route_network_1: "0.0.0.0",
    route_netmask_1: "128.0.0.0",
    route_gateway_1: "10.8.0.1",
    route_network_2: "10.20.0.0",
    route_netmask_2: "255.255.0.0",
    route_gateway_2: "10.8.0.1",
    route_metric_2: "5",
    route_ipv6_network_1: "::/1",
    route_ipv6_gateway_1: "fd00:8::1",
    foreign_option_1: "dhcp-option DNS 10.8.0.1",
    dns_server_1: "10.8.0.1",
    dns_server_2: "fd00:8::1",
    dns_servers: "10.8.0.1 fd00:8::1",
    dns_domain: "corp.example",
    dns_search: "corp.example",
  });
});

Deno.test("scriptEnv() leaves out every variable whose value holds a control character", () => {
  const hostile = {
    ...plan,
    redirect: { ...plan.redirect!, flags: ["def1\nexport EVIL=1"] },
    dns: { servers: ["10.8.0.1"], domain: "x\nnameserver 203.0.113.66", search: ["ok.example", "b\x7fad"] },
  };
  const env = scriptEnv(hostile, "up", {
    dhcpOptions: [
      { type: "DOMAIN", value: "x\nnameserver 203.0.113.66" },
      { type: "DNS", value: "10.8.0.1" },
      { type: "NTP", value: "10.8.0.1\r" },
      { type: "WINS", value: "10.8.0.1\x00" },
    ],
  });
  for (const [k, v] of Object.entries(env)) assert.ok(isPrintable(v), k);
  assert.equal(env.redirect_gateway, undefined);
  assert.equal(env.dns_domain, undefined);
  assert.equal(env.dns_search, undefined);
  assert.equal(env.foreign_option_1, undefined);
  assert.equal(env.foreign_option_2, "dhcp-option DNS 10.8.0.1");
  assert.equal(env.foreign_option_3, undefined);
  assert.equal(env.foreign_option_4, undefined);
  assert.equal(env.dns_servers, "10.8.0.1", "clean variables stay");
});

Deno.test("scriptArgs() passes OpenVPN's argument list and net30 uses ifconfig_remote", () => {
  assert.deepEqual(scriptArgs(plan), ["tun0", "1500", "0", "10.8.0.2", "255.255.255.0", "init"]);
  const p2p = {
    ...plan,
    topology: "net30" as const,
    local4: { ...plan.local4!, netmask: null, peer: "10.8.0.5" },
  };
  assert.equal(scriptEnv(p2p, "down", {}).ifconfig_remote, "10.8.0.5");
  assert.equal(scriptEnv(p2p, "down", {}).ifconfig_netmask, undefined);
});

Deno.test("runScript() reports success, the exit code of a failure and a missing script", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = new Logger({ sink: (l) => lines.push(l) });
  try {
    const ok = `${dir}/ok.sh`;
    await Deno.writeTextFile(ok, '#!/bin/sh\necho "up $1 $dev $ifconfig_local"\n', { mode: 0o755 });
    assert.deepEqual(await runScript(ok, ["tun0"], { dev: "tun0", ifconfig_local: "10.8.0.2" }, log), {
      ok: true,
    });
    assert.ok(lines.some((l) => l.includes("up tun0 tun0 10.8.0.2")), lines.join("\n"));
    const bad = `${dir}/bad.sh`;
    await Deno.writeTextFile(bad, "#!/bin/sh\necho failing >&2\nexit 3\n", { mode: 0o755 });
    assert.deepEqual(await runScript(bad, [], {}, log), { ok: false, reason: `${bad} exited with code 3` });
    const slow = `${dir}/slow.sh`;
    await Deno.writeTextFile(slow, "#!/bin/sh\nexec sleep 5\n", { mode: 0o755 });
    assert.deepEqual(await runScript(slow, [], {}, log, 100), {
      ok: false,
      reason: `${slow} did not finish within 0.1 s`,
    });
    const missing = await runScript(`${dir}/none.sh`, [], {}, log);
    assert.equal(missing.ok, false);
    assert.match((missing as { reason: string }).reason, /could not start .*none\.sh/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** No character below 0x20 and no DEL (written out rather than as a regex with control characters). */
function isPrintable(s: string): boolean {
  return [...s].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
}
