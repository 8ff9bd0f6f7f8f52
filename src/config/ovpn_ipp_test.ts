import assert from "node:assert/strict";
import { parseConfig } from "./load.ts";
import { parseIpp } from "./ovpn_ipp.ts";
import { translateOvpnServer } from "./ovpn_server.ts";
import type { ServerConfig } from "./schema.ts";

const PKI = "ca a\ncert b\nkey c\n";

function imported(conf: string, files: Record<string, string>, ccd: Record<string, string> = {}) {
  const { yaml, ignored } = translateOvpnServer(PKI + conf, "/etc/openvpn/server.conf", {
    readFile: (path) => {
      if (!Object.hasOwn(files, path)) throw new Deno.errors.NotFound(`no ${path}`);
      return files[path];
    },
    readCcd: () =>
      Object.entries(ccd).map(([name, text]) => ({ name, path: `/etc/openvpn/ccd/${name}`, text })),
  });
  const config = parseConfig(yaml, "/etc/openvpn/server.yaml") as ServerConfig;
  const statics = Object.fromEntries(
    [...config.server.clients].map(([n, c]) => [n, [c.address?.text ?? "", c.address6?.text ?? ""]]),
  );
  return {
    config,
    yaml,
    statics,
    ignored: ignored.map((i) => `${i.file}:${i.line}: ${i.option}: ${i.reason}`),
  };
}

Deno.test("parseIpp() reads NAME,IPV4[,IPV6] lines, skips comments and blanks, returns the rest as bad", () => {
  const { entries, bad } = parseIpp(
    "# c\n; c\n\nalice,10.8.0.7,\r\nbob,10.8.0.9,fd00::1009\ncarol,,fd00::100a\njunk\nnoaddr,,\n",
  );
  assert.deepEqual(entries, [
    { line: 4, name: "alice", ipv4: "10.8.0.7", ipv6: "" },
    { line: 5, name: "bob", ipv4: "10.8.0.9", ipv6: "fd00::1009" },
    { line: 6, name: "carol", ipv4: "", ipv6: "fd00::100a" },
  ]);
  assert.deepEqual(bad, [{ line: 7, text: "junk" }, { line: 8, text: "noaddr,," }]);
});

Deno.test("translateOvpnServer() keeps the addresses of ifconfig-pool-persist's clients as static addresses (subnet, IPv6)", () => {
  const conf = "dev tun\ntopology subnet\nserver 10.8.0.0 255.255.255.0\nserver-ipv6 fd00:8::/64\n" +
    "ifconfig-pool-persist ipp.txt 600\n";
  const { config, yaml, statics, ignored } = imported(conf, {
    "/etc/openvpn/ipp.txt": "alice,10.8.0.7,fd00:8::1005\nbob,10.8.0.9,\n",
  });
  assert.deepEqual(statics, { alice: ["10.8.0.7", "fd00:8::1005"], bob: ["10.8.0.9", ""] });
  assert.equal(
    config.server.poolPersist,
    "/etc/openvpn/ipp.json",
    "dynamic bindings keep their own JSON file",
  );
  assert.match(yaml, /address: 10\.8\.0\.7 {2}# ipp\.txt:1 \(ifconfig-pool-persist\)/);
  assert.deepEqual(ignored, []);
});

Deno.test("translateOvpnServer() reads net30 ipp entries as /30 bases: the client's address is base + 2", () => {
  const { statics } = imported("dev tun\nserver 10.8.0.0 255.255.255.0\nifconfig-pool-persist ipp.txt\n", {
    "/etc/openvpn/ipp.txt": "alice,10.8.0.4,\n",
  });
  assert.deepEqual(statics, { alice: ["10.8.0.6", ""] });
});

Deno.test("translateOvpnServer() reports ipp entries that cannot be kept, one line each, and translates the rest", () => {
  const conf = "dev tun\ntopology subnet\nserver 10.8.0.0 255.255.255.0\nclient-config-dir ccd\n" +
    "ifconfig-pool-persist /var/lib/openvpn/ipp.txt 0\n";
  const { statics, ignored } = imported(conf, {
    "/var/lib/openvpn/ipp.txt": [
      "alice,10.8.0.7,",
      "bob,10.9.0.7,",
      "carol,10.8.0.7,",
      "alice,10.8.0.8,",
      "dave,10.8.0.20,",
      "garbage",
      "laptop.corp,10.8.0.30,",
      "eve,10.8.0.1,",
    ].join("\n"),
  }, { dave: "ifconfig-push 10.8.0.21 255.255.255.0\n" });
  assert.deepEqual(statics, {
    dave: ["10.8.0.21", ""],
    alice: ["10.8.0.7", ""],
    "laptop.corp": ["10.8.0.30", ""],
  });
  const f = "/var/lib/openvpn/ipp.txt";
  assert.equal(ignored.length, 6, ignored.join("\n"));
  assert.match(ignored[0], new RegExp(`^${f}:2: bob,10\\.9\\.0\\.7,: does not fit the new pool: `));
  assert.match(ignored[1], new RegExp(`^${f}:3: carol,10\\.8\\.0\\.7,: does not fit the new pool: .*alice`));
  assert.equal(ignored[2], `${f}:4: alice,10.8.0.8,: the name appears twice`);
  assert.equal(ignored[3], `${f}:5: dave,10.8.0.20,: its client-config-dir file sets the address`);
  assert.equal(ignored[4], `${f}:6: garbage: expected NAME,IPV4[,IPV6]`);
  assert.match(ignored[5], new RegExp(`^${f}:8: eve,10\\.8\\.0\\.1,: does not fit the new pool: `));
});

Deno.test("translateOvpnServer(): a missing ipp file is a fresh start (nothing reported); an unread one is reported", () => {
  const conf = "dev tun\ntopology subnet\nserver 10.8.0.0 255.255.255.0\nifconfig-pool-persist ipp.txt\n";
  assert.deepEqual(imported(conf, {}).ignored, []);
  const { ignored } = translateOvpnServer(PKI + conf, "/etc/openvpn/server.conf");
  assert.deepEqual(ignored.map((i) => i.reason), [
    "/etc/openvpn/ipp.txt was not read: existing clients' addresses are not carried over",
  ]);
});

Deno.test("translateOvpnServer() turns manual server mode (ifconfig + ifconfig-pool) into server.network and server.pool_range", () => {
  const conf = "mode server\ntls-server\ndev tun\ntopology subnet\nifconfig 10.8.0.1 255.255.255.0\n" +
    "ifconfig-pool 10.8.0.100 10.8.0.200 255.255.255.0\n";
  const { config, ignored } = imported(conf, {});
  assert.equal(config.server.network!.text, "10.8.0.0/24");
  assert.deepEqual([config.server.poolRange!.start.text, config.server.poolRange!.end.text], [
    "10.8.0.100",
    "10.8.0.200",
  ]);
  assert.deepEqual(ignored, []);
});

Deno.test("translateOvpnServer() reports ifconfig-pool it cannot express: next to server, or a server address that is not the first", () => {
  const both = imported(
    "dev tun\ntopology subnet\nserver 10.8.0.0 255.255.255.0\nifconfig-pool 10.8.0.100 10.8.0.200\n",
    {},
  );
  assert.equal(both.config.server.poolRange, null);
  assert.deepEqual(both.ignored, [
    "/etc/openvpn/server.conf:7: ifconfig-pool 10.8.0.100 10.8.0.200: OpenVPN refuses ifconfig-pool next to `server`, which already defines the pool",
  ]);
  const { yaml, ignored } = translateOvpnServer(
    PKI +
      "mode server\ndev tun\ntopology subnet\nifconfig 10.8.0.254 255.255.255.0\nifconfig-pool 10.8.0.100 10.8.0.200\n",
    "/etc/openvpn/server.conf",
  );
  assert.doesNotMatch(yaml, /pool_range/);
  assert.deepEqual(ignored.map((i) => i.reason), [
    "tsvpn's server address is the network's first (10.8.0.1), not 10.8.0.254",
  ]);
});

Deno.test("server.pool_range: outside the network, reversed, or without a network is a one-line error naming file:line and key", () => {
  const yaml = (range: string, network = "  network: 10.8.0.0/24\n") =>
    `mode: server\npki: { ca: a, cert: b, key: c }\nserver:\n${network}  pool_range: ${range}\n`;
  assert.throws(
    () => parseConfig(yaml("{ start: 10.9.0.1, end: 10.8.0.9 }"), "s.yaml"),
    /s\.yaml:5: .*start.*10\.8\.0\.0\/24/,
  );
  assert.throws(
    () => parseConfig(yaml("{ start: 10.8.0.9, end: 10.8.0.1 }"), "s.yaml"),
    /s\.yaml:5: .*end.*not below start/,
  );
  assert.throws(() => parseConfig(yaml("{ start: 10.8.0.9 }"), "s.yaml"), /s\.yaml:5: .*end/);
  const ok = parseConfig(yaml("{ start: 10.8.0.9, end: 10.8.0.20 }"), "s.yaml") as ServerConfig;
  assert.equal(ok.server.poolRange!.end.text, "10.8.0.20");
});
