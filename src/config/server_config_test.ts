import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import type { ServerConfig } from "./schema.ts";

const HEAD = "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\n";

/** HEAD (lines 1-2) + `rest` starting at line 3. */
function server(rest: string): ServerConfig {
  const c = parseConfig(HEAD + rest, "/etc/tsvpn/s.yaml");
  assert.equal(c.mode, "server");
  return c as ServerConfig;
}

function fails(text: string, message: string): void {
  assert.throws(() => parseConfig(text, "s.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("parseConfig() fills every server default", () => {
  const c = server("server:\n  network: 10.8.0.0/24\n");
  assert.deepEqual(c.listen, { host: "0.0.0.0", port: 1194, proto: "udp" });
  assert.deepEqual(c.dev, { type: "tun", name: "tsvpn0", mtu: 1500 });
  assert.deepEqual(c.pki, {
    ca: { kind: "file", path: "/etc/tsvpn/ca.crt" },
    cert: { kind: "file", path: "/etc/tsvpn/s.crt" },
    key: { kind: "file", path: "/etc/tsvpn/s.key" },
    crl: null,
    tlsCrypt: null,
    tlsAuth: null,
  });
  assert.deepEqual(c.data, {
    ciphers: ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"],
    renegSeconds: 3600,
    renegBytes: 0,
    transitionWindow: 60,
    replayWindow: 1024,
  });
  assert.deepEqual(c.keepalive, { interval: 10, timeout: 60 });
  assert.deepEqual(c.log, { level: "info" });
  assert.equal(c.management, null);
  const s = c.server;
  assert.equal(s.network!.text, "10.8.0.0/24");
  assert.equal(s.address!.text, "10.8.0.1");
  assert.equal(s.network6, null);
  assert.equal(s.address6, null);
  assert.equal(s.topology, "subnet");
  assert.equal(s.clientToClient, false);
  assert.equal(s.duplicateCn, false);
  assert.equal(s.maxClients, 1024);
  assert.equal(s.handshakeRate, 100);
  assert.equal(s.maxMacsPerClient, 256);
  assert.equal(s.poolPersist, null);
  assert.equal(s.statusFile, null);
  assert.equal(s.statusInterval, 60);
  assert.equal(s.mssfix, 1448);
  assert.equal(s.bridge, false);
  assert.deepEqual(s.routes, []);
  assert.deepEqual(s.routes6, []);
  assert.deepEqual(s.push, { routes: [], routes6: [], redirectGateway: [], dns: [], domain: null });
  assert.equal(s.clients.size, 0);
});

Deno.test("parseConfig() reads a full server config with clients, IPv6 and resolved paths", () => {
  const c = server(`listen: { host: "::", port: 443, proto: tcp }
dev: { type: tun, name: vpn0, mtu: 1420 }
management: { listen: ./mgmt.sock }
server:
  network: 10.8.0.0/24
  network6: fd00:8::/64
  topology: subnet
  client_to_client: true
  duplicate_cn: true
  max_clients: 10
  handshake_rate: 400
  max_macs_per_client: 1000
  pool_persist: state/pool.json
  status_file: /var/run/status.txt
  status_interval: 5
  routes: [192.168.10.0/24]
  routes6: ["fd00:99::/64"]
  push:
    routes: [10.20.0.0/16]
    routes6: ["2001:db8::/32"]
    redirect_gateway: [def1, bypass-dhcp, "!ipv4"]
    dns: [10.8.0.1, "fd00:8::1"]
    domain: corp.internal
  clients:
    alice:
      address: 10.8.0.50
      address6: "fd00:8::1:0:0:0"
      iroutes: [192.168.10.0/24]
      iroutes6: ["fd00:99::/64"]
      push: { routes: [172.16.0.0/16] }
    mallory: { disabled: true }
    bob:
`);
  assert.deepEqual(c.listen, { host: "::", port: 443, proto: "tcp" });
  assert.deepEqual(c.dev, { type: "tun", name: "vpn0", mtu: 1420 });
  assert.deepEqual(c.management, {
    listen: { kind: "unix", path: "/etc/tsvpn/mgmt.sock" },
    passwordFile: null,
    hold: false,
    clientAuth: false,
  });
  const s = c.server;
  assert.equal(s.address6!.text, "fd00:8::1");
  assert.equal(s.clientToClient, true);
  assert.equal(s.duplicateCn, true);
  assert.equal(s.maxClients, 10);
  assert.equal(s.handshakeRate, 400);
  assert.equal(s.maxMacsPerClient, 1000);
  assert.equal(s.poolPersist, "/etc/tsvpn/state/pool.json");
  assert.equal(s.statusFile, "/var/run/status.txt");
  assert.equal(s.statusInterval, 5);
  assert.equal(s.mssfix, 1420);
  assert.deepEqual(s.routes.map((p) => p.text), ["192.168.10.0/24"]);
  assert.deepEqual(s.routes6.map((p) => p.text), ["fd00:99::/64"]);
  assert.deepEqual(s.push.routes.map((p) => p.text), ["10.20.0.0/16"]);
  assert.deepEqual(s.push.routes6.map((p) => p.text), ["2001:db8::/32"]);
  assert.deepEqual(s.push.redirectGateway, ["def1", "bypass-dhcp", "!ipv4"]);
  assert.deepEqual(s.push.dns.map((a) => a.text), ["10.8.0.1", "fd00:8::1"]);
  assert.equal(s.push.domain, "corp.internal");
  const alice = s.clients.get("alice")!;
  assert.equal(alice.name, "alice");
  assert.equal(alice.disabled, false);
  assert.equal(alice.address!.text, "10.8.0.50");
  assert.equal(alice.address6!.text, "fd00:8:0:0:1::");
  assert.deepEqual(alice.iroutes.map((p) => p.text), ["192.168.10.0/24"]);
  assert.deepEqual(alice.iroutes6.map((p) => p.text), ["fd00:99::/64"]);
  assert.deepEqual(alice.push.routes.map((p) => p.text), ["172.16.0.0/16"]);
  assert.equal(s.clients.get("mallory")!.disabled, true);
  assert.equal(s.clients.get("bob")!.address, null);
  assert.deepEqual([...s.clients.keys()], ["alice", "mallory", "bob"]);
});

Deno.test("parseConfig() accepts net30 and p2p static addresses that are valid client endpoints", () => {
  const n = server(
    "server:\n  network: 10.8.0.0/24\n  topology: net30\n  clients:\n    a: { address: 10.8.0.6 }\n",
  );
  assert.equal(n.server.clients.get("a")!.address!.text, "10.8.0.6");
  const p = server(
    "server:\n  network: 10.8.0.0/24\n  topology: p2p\n  clients:\n    a: { address: 10.8.0.3 }\n",
  );
  assert.equal(p.server.clients.get("a")!.address!.text, "10.8.0.3");
});

Deno.test("parseConfig() accepts a tap bridge without addresses and mssfix 0", () => {
  const c = server("dev: { type: tap }\nserver:\n  bridge: true\n  mssfix: 0\n");
  assert.equal(c.server.bridge, true);
  assert.equal(c.server.network, null);
  assert.equal(c.server.address, null);
  assert.equal(c.server.mssfix, 0);
});

Deno.test("parseConfig() reads inline PEM, tls_auth with defaults, and a loopback IPv6 management port", () => {
  const c = parseConfig(
    `mode: server
pki:
  ca_pem: |
    -----BEGIN CERTIFICATE-----
    AAAA
    -----END CERTIFICATE-----
  cert: s.crt
  key: s.key
  crl: crl.pem
  tls_auth: { key: ta.key, direction: 0 }
management: { listen: "[::1]:7505", password_file: mgmt.pw }
data: { reneg_seconds: 0, reneg_bytes: 1000000, transition_window: 10 }
server: { network: 10.8.0.0/24 }
`,
    "conf/s.yaml",
  ) as ServerConfig;
  assert.deepEqual(c.pki.ca, {
    kind: "inline",
    pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  });
  assert.deepEqual(c.pki.crl, { kind: "file", path: "conf/crl.pem" });
  assert.deepEqual(c.pki.tlsAuth, {
    key: { kind: "file", path: "conf/ta.key" },
    direction: 0,
    digest: "SHA1",
  });
  assert.deepEqual(c.management, {
    listen: { kind: "tcp", host: "::1", port: 7505 },
    passwordFile: "conf/mgmt.pw",
    hold: false,
    clientAuth: false,
  });
  assert.equal(c.data.renegSeconds, 0);
  assert.equal(c.data.renegBytes, 1000000);
  assert.equal(c.data.transitionWindow, 10);
});

Deno.test("parseConfig() honours baseDir and follows YAML aliases", () => {
  const c = parseConfig(
    "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\nserver:\n  network: 10.8.0.0/24\n" +
      "  routes: &r [192.168.1.0/24]\n  push: { routes: *r }\n",
    "s.yaml",
    { baseDir: "/srv" },
  ) as ServerConfig;
  assert.deepEqual(c.pki.ca, { kind: "file", path: "/srv/ca.crt" });
  assert.deepEqual(c.server.push.routes.map((p) => p.text), ["192.168.1.0/24"]);
});

// Each case: the whole file, then the exact one-line message.
const SERVER_ERRORS: [string, string, string][] = [
  [
    "unknown topology",
    HEAD + "server:\n  network: 10.8.0.0/24\n  topology: star\n",
    's.yaml:5: server.topology: expected one of net30, p2p, subnet, got "star"',
  ],
  [
    "misspelt key with a suggestion",
    HEAD + "server:\n  clinet_to_client: true\n  network: 10.8.0.0/24\n",
    "s.yaml:4: server.clinet_to_client: unknown key (did you mean client_to_client?)",
  ],
  ["unknown top-level key", HEAD + "lsten: {}\n", "s.yaml:3: lsten: unknown key (did you mean listen?)"],
  ["unknown key without a close match", HEAD + "colour: red\n", "s.yaml:3: colour: unknown key"],
  ["missing server section", HEAD, "s.yaml:1: server: required key is missing"],
  [
    "missing network names the parent's line",
    HEAD + "log: {}\nserver:\n  topology: subnet\n",
    "s.yaml:4: server.network: required key is missing",
  ],
  [
    "missing pki.ca",
    "mode: server\npki:\n  cert: a\n  key: b\n",
    "s.yaml:2: pki.ca: required key is missing",
  ],
  ["missing pki", "mode: server\nserver: {}\n", "s.yaml:1: pki: required key is missing"],
  ["missing mode", "server: {}\n", "s.yaml:1: mode: required key is missing"],
  ["bad mode", "mode: peer\n", 's.yaml:1: mode: expected one of client, server, got "peer"'],
  [
    "empty document",
    "# nothing\n",
    "s.yaml:1: expected a map of settings starting with mode: server or mode: client",
  ],
  ["top-level list", "- a\n", "s.yaml:1: expected a map, got a list"],
  [
    "unclosed flow map",
    "mode: server\nserver: { network: 10.8.0.0/24\n",
    "s.yaml:3: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
  ],
  [
    "nested compact mapping",
    "mode: server\nlog: level: info\n",
    "s.yaml:2: invalid YAML: Nested mappings are not allowed in compact mappings",
  ],
  [
    "tab indentation",
    "mode: server\nlog:\n\tlevel: info\n",
    "s.yaml:3: invalid YAML: Tabs are not allowed as indentation",
  ],
  ["duplicate key", "mode: server\nmode: client\n", "s.yaml:2: invalid YAML: Map keys must be unique"],
  [
    "port zero",
    HEAD + "listen: { port: 0 }\n",
    "s.yaml:3: listen.port: expected a port from 1 to 65535, got 0",
  ],
  [
    "port too large",
    HEAD + "listen:\n  port: 70000\n",
    "s.yaml:4: listen.port: expected a port from 1 to 65535, got 70000",
  ],
  [
    "port as a string",
    HEAD + 'listen: { port: "1194" }\n',
    's.yaml:3: listen.port: expected a port from 1 to 65535, got "1194"',
  ],
  [
    "listen host not an IP",
    HEAD + "listen: { host: localhost }\n",
    's.yaml:3: listen.host: expected an IP address, got "localhost"',
  ],
  [
    "bad proto",
    HEAD + "listen: { proto: udb }\n",
    's.yaml:3: listen.proto: expected one of tcp, udp, got "udb" (did you mean udp?)',
  ],
  [
    "bad dev type",
    HEAD + "dev: { type: tunnel }\n",
    's.yaml:3: dev.type: expected one of tap, tun, got "tunnel"',
  ],
  [
    "mtu too small",
    HEAD + "dev: { mtu: 500 }\n",
    "s.yaml:3: dev.mtu: expected an integer from 576 to 65535, got 500",
  ],
  [
    "bad device name",
    HEAD + "dev: { name: a-very-long-interface-name }\n",
    's.yaml:3: dev.name: expected an interface name of 1 to 15 characters without spaces, / or :, got "a-very-long-interface-name"',
  ],
  ["section not a map", HEAD + "dev: tun\n", 's.yaml:3: dev: expected a map, got "tun"'],
  [
    "network with host bits",
    HEAD + "server:\n  network: 10.8.0.1/24\n",
    's.yaml:4: server.network: expected a network prefix with host bits zero, got "10.8.0.1/24" (did you mean 10.8.0.0/24?)',
  ],
  [
    "network too small",
    HEAD + "server:\n  network: 10.8.0.0/30\n",
    's.yaml:4: server.network: expected a prefix of /29 or shorter (room for clients), got "10.8.0.0/30"',
  ],
  [
    "network without a length",
    HEAD + "server:\n  network: 10.8.0.0\n",
    's.yaml:4: server.network: expected an IPv4 prefix such as 192.168.10.0/24, got "10.8.0.0" (missing /LENGTH)',
  ],
  [
    "IPv6 network in network",
    HEAD + 'server:\n  network: "fd00::/64"\n',
    's.yaml:4: server.network: expected an IPv4 prefix such as 192.168.10.0/24, got "fd00::/64" (put an IPv6 network in network6)',
  ],
  [
    "network6 too large",
    HEAD + 'server:\n  network: 10.8.0.0/24\n  network6: "fd00::/48"\n',
    's.yaml:5: server.network6: expected a prefix length from /64 to /124, got "fd00::/48"',
  ],
  [
    "garbage network",
    HEAD + "server:\n  network: ten\n",
    's.yaml:4: server.network: expected an IPv4 prefix such as 192.168.10.0/24, got "ten"',
  ],
  [
    "IPv6 route in routes",
    HEAD + 'server:\n  network: 10.8.0.0/24\n  routes:\n    - 10.0.0.0/8\n    - "fd00::/8"\n',
    's.yaml:7: server.routes[1]: expected an IPv4 prefix such as 192.168.10.0/24, got "fd00::/8" (put IPv6 prefixes in routes6)',
  ],
  [
    "IPv4 route in routes6",
    HEAD + "server:\n  network: 10.8.0.0/24\n  routes6: [10.0.0.0/8]\n",
    's.yaml:5: server.routes6[0]: expected an IPv6 prefix such as fd00:10::/64, got "10.0.0.0/8" (put IPv4 prefixes in routes)',
  ],
  [
    "routes not a list",
    HEAD + "server:\n  network: 10.8.0.0/24\n  routes: 10.0.0.0/8\n",
    's.yaml:5: server.routes: expected a list, got "10.0.0.0/8"',
  ],
  [
    "unknown redirect flag",
    HEAD + "server:\n  network: 10.8.0.0/24\n  push: { redirect_gateway: [def2] }\n",
    's.yaml:5: server.push.redirect_gateway[0]: expected one of !ipv4, bypass-dhcp, bypass-dns, def1, ipv6, local, got "def2" (did you mean def1?)',
  ],
  [
    "repeated redirect flag",
    HEAD + "server:\n  network: 10.8.0.0/24\n  push:\n    redirect_gateway:\n      - def1\n      - def1\n",
    's.yaml:8: server.push.redirect_gateway[1]: expected each value once, got "def1" twice',
  ],
  [
    "bad pushed DNS",
    HEAD + "server:\n  network: 10.8.0.0/24\n  push: { dns: [dns.google] }\n",
    's.yaml:5: server.push.dns[0]: expected an IP address, got "dns.google"',
  ],
  [
    "bad pushed domain",
    HEAD + "server:\n  network: 10.8.0.0/24\n  push: { domain: corp internal }\n",
    's.yaml:5: server.push.domain: expected a domain name, got "corp internal"',
  ],
  [
    "handshake_rate zero",
    HEAD + "server:\n  network: 10.8.0.0/24\n  handshake_rate: 0\n",
    "s.yaml:5: server.handshake_rate: expected an integer from 1 to 1000000, got 0",
  ],
  [
    "max_clients zero",
    HEAD + "server:\n  network: 10.8.0.0/24\n  max_clients: 0\n",
    "s.yaml:5: server.max_clients: expected an integer of at least 1, got 0",
  ],
  [
    "max_macs_per_client zero",
    HEAD + "server:\n  network: 10.8.0.0/24\n  max_macs_per_client: 0\n",
    "s.yaml:5: server.max_macs_per_client: expected an integer from 1 to 65536, got 0",
  ],
  [
    "max_macs_per_client beyond the MAC table",
    HEAD + "server:\n  network: 10.8.0.0/24\n  max_macs_per_client: 65537\n",
    "s.yaml:5: server.max_macs_per_client: expected an integer from 1 to 65536, got 65537",
  ],
  [
    "fractional status_interval",
    HEAD + "server:\n  network: 10.8.0.0/24\n  status_interval: 1.5\n",
    "s.yaml:5: server.status_interval: expected a positive whole number of seconds, got 1.5",
  ],
  [
    "negative status_interval",
    HEAD + "server:\n  network: 10.8.0.0/24\n  status_interval: -5\n",
    "s.yaml:5: server.status_interval: expected a positive whole number of seconds, got -5",
  ],
  [
    "boolean as a string",
    HEAD + "server:\n  network: 10.8.0.0/24\n  client_to_client: yes\n",
    's.yaml:5: server.client_to_client: expected true or false, got "yes"',
  ],
  [
    "mssfix above the device MTU",
    HEAD + "dev: { mtu: 1420 }\nserver:\n  network: 10.8.0.0/24\n  mssfix: 1500\n",
    "s.yaml:6: server.mssfix: expected 0 (off) or an integer from 576 to 1420 (dev.mtu), got 1500",
  ],
  [
    "bridge on tun",
    HEAD + "server:\n  bridge: true\n",
    "s.yaml:4: server.bridge: expected false with dev.type tun (bridging needs tap)",
  ],
  [
    "tap with net30",
    HEAD + "dev: { type: tap }\nserver:\n  network: 10.8.0.0/24\n  topology: net30\n",
    's.yaml:6: server.topology: expected subnet with dev.type tap, got "net30"',
  ],
  [
    "bridge with a network",
    HEAD + "dev: { type: tap }\nserver:\n  bridge: true\n  network: 10.8.0.0/24\n",
    "s.yaml:6: server.network: expected no network with bridge: true (bridged clients get no addresses from the server)",
  ],
  [
    "static address outside the network",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice:\n      address: 10.9.0.5\n",
    's.yaml:7: server.clients.alice.address: expected an address inside server.network 10.8.0.0/24, got "10.9.0.5"',
  ],
  [
    "static address equal to the server's",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { address: 10.8.0.1 }\n",
    's.yaml:6: server.clients.alice.address: expected a client address, got the server\'s own address "10.8.0.1"',
  ],
  [
    "static network address",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { address: 10.8.0.0 }\n",
    's.yaml:6: server.clients.alice.address: expected a client address, got the network address "10.8.0.0"',
  ],
  [
    "static broadcast address",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { address: 10.8.0.255 }\n",
    's.yaml:6: server.clients.alice.address: expected a client address, got the broadcast address "10.8.0.255"',
  ],
  [
    "net30 server-side endpoint",
    HEAD +
    "server:\n  network: 10.8.0.0/24\n  topology: net30\n  clients:\n    alice: { address: 10.8.0.9 }\n",
    's.yaml:7: server.clients.alice.address: expected the client endpoint of a /30 in net30 topology (such as 10.8.0.10), got "10.8.0.9"',
  ],
  [
    "net30 address in the server's own /30",
    HEAD +
    "server:\n  network: 10.8.0.0/24\n  topology: net30\n  clients:\n    alice: { address: 10.8.0.2 }\n",
    's.yaml:7: server.clients.alice.address: expected the client endpoint of a /30 in net30 topology (such as 10.8.0.6), got "10.8.0.2"',
  ],
  [
    "p2p peer address",
    HEAD + "server:\n  network: 10.8.0.0/24\n  topology: p2p\n  clients:\n    alice: { address: 10.8.0.2 }\n",
    's.yaml:7: server.clients.alice.address: expected a client address, got "10.8.0.2" (the server\'s point-to-point peer address in p2p topology)',
  ],
  [
    "two clients with one address",
    HEAD +
    "server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { address: 10.8.0.50 }\n    bob: { address: 10.8.0.50 }\n",
    's.yaml:7: server.clients.bob.address: expected an address no other client uses, got "10.8.0.50" (also given to alice)',
  ],
  [
    "IPv6 address in address",
    HEAD + 'server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { address: "fd00::5" }\n',
    's.yaml:6: server.clients.alice.address: expected an IPv4 address, got "fd00::5" (put IPv6 addresses in address6)',
  ],
  [
    "address6 without network6",
    HEAD + 'server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { address6: "fd00::5" }\n',
    's.yaml:6: server.clients.alice.address6: expected no address6 without server.network6, got "fd00::5"',
  ],
  [
    "address6 equal to the server's",
    HEAD +
    'server:\n  network: 10.8.0.0/24\n  network6: "fd00:8::/64"\n  clients:\n    alice: { address6: "fd00:8::1" }\n',
    's.yaml:7: server.clients.alice.address6: expected a client address, got the server\'s own address "fd00:8::1"',
  ],
  [
    "address6 equal to the network address",
    HEAD +
    'server:\n  network: 10.8.0.0/24\n  network6: "fd00:8::/64"\n  clients:\n    alice: { address6: "fd00:8::" }\n',
    's.yaml:7: server.clients.alice.address6: expected a client address, got the network address "fd00:8::"',
  ],
  [
    "static address with bridge",
    HEAD + "dev: { type: tap }\nserver:\n  bridge: true\n  clients:\n    alice: { address: 10.8.0.5 }\n",
    "s.yaml:7: server.clients.alice.address: expected no static address with bridge: true (bridged clients get no addresses)",
  ],
  [
    "iroute with host bits",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice: { iroutes: [192.168.10.1/24] }\n",
    's.yaml:6: server.clients.alice.iroutes[0]: expected a network prefix with host bits zero, got "192.168.10.1/24" (did you mean 192.168.10.0/24?)',
  ],
  [
    "misspelt client key",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice:\n      adress: 10.8.0.5\n",
    "s.yaml:7: server.clients.alice.adress: unknown key (did you mean address?)",
  ],
  [
    "client entry not a map",
    HEAD + "server:\n  network: 10.8.0.0/24\n  clients:\n    alice: [1]\n",
    "s.yaml:6: server.clients.alice: expected a map, got a list",
  ],
  [
    "ca and ca_pem together",
    "mode: server\npki: { ca: a, ca_pem: b, cert: c, key: d }\n",
    "s.yaml:2: pki.ca_pem: expected either ca or ca_pem, not both",
  ],
  [
    "inline PEM that is not PEM",
    "mode: server\npki: { ca_pem: hello, cert: c, key: d }\n",
    's.yaml:2: pki.ca_pem: expected PEM text (-----BEGIN …), got "hello"',
  ],
  [
    "tls_crypt with tls_auth",
    "mode: server\npki:\n  ca: a\n  cert: b\n  key: c\n  tls_crypt: tc.key\n  tls_auth: { key: ta.key }\n",
    "s.yaml:7: pki.tls_auth: expected either tls_crypt or tls_auth, not both",
  ],
  [
    "tls_auth direction 2",
    "mode: server\npki:\n  ca: a\n  cert: b\n  key: c\n  tls_auth: { key: ta.key, direction: 2 }\n",
    "s.yaml:6: pki.tls_auth.direction: expected one of 0, 1, got 2",
  ],
  [
    "tls_auth without key",
    "mode: server\npki:\n  ca: a\n  cert: b\n  key: c\n  tls_auth:\n    direction: 1\n",
    "s.yaml:6: pki.tls_auth.key: required key is missing",
  ],
  [
    "tls_auth digest",
    "mode: server\npki:\n  ca: a\n  cert: b\n  key: c\n  tls_auth: { key: t, digest: MD5 }\n",
    's.yaml:6: pki.tls_auth.digest: expected one of SHA1, SHA256, SHA384, SHA512, got "MD5"',
  ],
  [
    "empty cipher list",
    HEAD + "data: { ciphers: [] }\n",
    "s.yaml:3: data.ciphers: expected a non-empty list of ciphers, got a list",
  ],
  [
    "CBC cipher",
    HEAD + "data: { ciphers: [AES-256-CBC] }\n",
    's.yaml:3: data.ciphers[0]: expected one of AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305, got "AES-256-CBC" (did you mean AES-256-GCM?)',
  ],
  [
    "replay window zero",
    HEAD + "data: { replay_window: 0 }\n",
    "s.yaml:3: data.replay_window: expected an integer from 1 to 65536, got 0",
  ],
  [
    "negative reneg_seconds",
    HEAD + "data: { reneg_seconds: -1 }\n",
    "s.yaml:3: data.reneg_seconds: expected a whole number of seconds (0 = never), got -1",
  ],
  [
    "transition_window zero",
    HEAD + "data: { transition_window: 0 }\n",
    "s.yaml:3: data.transition_window: expected a whole number of seconds (at least 1), got 0",
  ],
  [
    "keepalive timeout too short",
    HEAD + "keepalive:\n  interval: 10\n  timeout: 15\n",
    "s.yaml:5: keepalive.timeout: expected timeout at least twice interval (10 s → 20 s), got 15",
  ],
  [
    "keepalive interval zero",
    HEAD + "keepalive: { interval: 0 }\n",
    "s.yaml:3: keepalive.interval: expected a positive whole number of seconds, got 0",
  ],
  [
    "log level",
    HEAD + "log: { level: verbose }\n",
    's.yaml:3: log.level: expected one of debug, error, info, warn, got "verbose"',
  ],
  [
    "management on a public address",
    HEAD + "management: { listen: 0.0.0.0:7505 }\n",
    's.yaml:3: management.listen: expected a loopback address (127.0.0.0/8, ::1 or localhost), got "0.0.0.0:7505"',
  ],
  [
    "management without a port",
    HEAD + "management: { listen: 7505 }\n",
    "s.yaml:3: management.listen: expected HOST:PORT on a loopback address or a unix socket path starting with / or ./, got 7505",
  ],
  [
    "management with a misspelt password key",
    HEAD + "management: { listen: ./m.sock, password: x }\n",
    "s.yaml:3: management.password: unknown key",
  ],
  [
    "management without listen",
    HEAD + "management: {}\n",
    "s.yaml:3: management.listen: required key is missing",
  ],
];

for (const [what, text, message] of SERVER_ERRORS) {
  Deno.test(`parseConfig() rejects a server config with ${what}`, () => fails(text, message));
}
