import assert from "node:assert/strict";
import { clientEnv, disconnectEnv } from "./client_env.ts";

const base = {
  commonName: "alice",
  remote: "172.31.0.11:51234",
  serial: "0A1B",
  username: "",
  peerInfo: new Map([["IV_VER", "2.6.12"], ["IV_PLAT", "linux"], ["bad key", "x"]]),
  ifconfig: "10.8.0.2 255.255.255.0",
  ifconfigIpv6: "fd00:8::1000/64 fd00:8::1",
  topology: "subnet",
  dev: "tsvpn0",
  tunMtu: 1500,
  connectedAt: 1_700_000_000_500,
};

Deno.test("clientEnv() names everything as OpenVPN does", () => {
  const env = clientEnv(base);
  assert.deepEqual(
    [env.common_name, env.X509_0_CN, env.trusted_ip, env.trusted_port, env.untrusted_ip, env.untrusted_port],
    ["alice", "alice", "172.31.0.11", "51234", "172.31.0.11", "51234"],
  );
  assert.deepEqual([env.ifconfig_pool_remote_ip, env.ifconfig_pool_netmask], ["10.8.0.2", "255.255.255.0"]);
  assert.equal(env.ifconfig_pool_local_ip, undefined);
  assert.deepEqual([env.ifconfig_pool_remote_ip6, env.ifconfig_pool_ip6_netbits], ["fd00:8::1000", "64"]);
  assert.deepEqual([env.tls_serial_0, env.tls_serial_hex_0], ["2587", "0a:1b"]);
  assert.deepEqual([env.IV_VER, env.IV_PLAT, env["bad key"]], ["2.6.12", "linux", undefined]);
  assert.deepEqual([env.time_unix, env.dev, env.tun_mtu, env.script_context], [
    "1700000000",
    "tsvpn0",
    "1500",
    "init",
  ]);
  assert.equal(env.username, undefined);
});

Deno.test("clientEnv(): net30 gives ifconfig_pool_local_ip, an IPv6 peer trusted_ip6, a user name username", () => {
  const env = clientEnv({
    ...base,
    topology: "net30",
    ifconfig: "10.8.0.6 10.8.0.5",
    remote: "[2001:db8::5]:1194",
    username: "al",
  });
  assert.deepEqual([env.ifconfig_pool_remote_ip, env.ifconfig_pool_local_ip], ["10.8.0.6", "10.8.0.5"]);
  assert.deepEqual([env.trusted_ip6, env.trusted_ip, env.trusted_port], ["2001:db8::5", undefined, "1194"]);
  assert.equal(env.username, "al");
});

Deno.test("disconnectEnv() adds bytes_received, bytes_sent and time_duration in whole seconds", () => {
  const env = disconnectEnv(
    { common_name: "alice" },
    { bytesReceived: 10, bytesSent: 20, now: 61_400 },
    1_000,
  );
  assert.deepEqual(env, {
    common_name: "alice",
    bytes_received: "10",
    bytes_sent: "20",
    time_duration: "60",
  });
});
