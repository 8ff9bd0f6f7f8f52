import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import type { ClientConfig } from "./schema.ts";

const HEAD =
  "mode: client\nremotes: [{ host: vpn.example.com }]\npki: { ca: ca.crt, cert: alice.crt, key: alice.key }\n";

function client(text: string, file = "/home/a/c.yaml"): ClientConfig {
  const c = parseConfig(text, file);
  assert.equal(c.mode, "client");
  return c as ClientConfig;
}

function fails(text: string, message: string): void {
  assert.throws(() => parseConfig(text, "c.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("parseConfig() fills every client default", () => {
  const c = client(HEAD);
  assert.deepEqual(c.remotes, [{ host: "vpn.example.com", port: 1194, proto: "udp" }]);
  assert.equal(c.remoteRandom, false);
  assert.equal(c.proto, "udp");
  assert.deepEqual(c.dev, { type: "tun", name: "tsvpn0", mtu: 1500 });
  assert.deepEqual(c.pki.ca, { kind: "file", path: "/home/a/ca.crt" });
  assert.equal(c.pki.tlsCrypt, null);
  assert.equal(c.serverName, null);
  assert.deepEqual(c.data.ciphers, ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"]);
  assert.equal(c.data.replayWindow, 1024);
  assert.equal(c.keepalive, null);
  assert.deepEqual(c.log, { level: "info" });
  assert.deepEqual(c.pull, {
    routes: true,
    redirectGateway: true,
    netGatewayRoutes: false,
    dns: "none",
    filter: [],
  });
  assert.deepEqual(c.routes, []);
  assert.deepEqual(c.routes6, []);
  assert.deepEqual(c.redirectGateway, []);
  assert.deepEqual(c.scripts, { up: null, down: null });
  assert.deepEqual(c.reconnect, { initialDelay: 1, maxDelay: 60 });
  assert.equal(c.management, null);
  assert.equal(c.deadPeerTimeout, 15);
  assert.equal(c.stateDir, "/var/lib/tsvpn/client");
});

Deno.test("parseConfig() reads a full client config", () => {
  const c = client(`mode: client
remotes:
  - { host: vpn1.example.com, port: 1194 }
  - { host: 198.51.100.7, port: 443, proto: tcp }
  - { host: "2001:DB8::7" }
remote_random: true
proto: udp
dev: { type: tap, name: tap7, mtu: 1400 }
pki:
  ca_pem: "-----BEGIN CERTIFICATE-----\\nx\\n-----END CERTIFICATE-----\\n"
  cert: alice.crt
  key: /secure/alice.key
  tls_crypt_pem: "-----BEGIN OpenVPN Static key V1-----\\n-----END OpenVPN Static key V1-----\\n"
server_name: vpn.example.com
data: { ciphers: [CHACHA20-POLY1305], replay_window: 256 }
keepalive: { interval: 5 }
log: { level: debug }
pull:
  routes: false
  redirect_gateway: false
  net_gateway_routes: true
  dns: resolv.conf
  filter:
    - accept: "route 10.20."
    - ignore: "route "
    - reject: dhcp-option DNS
routes: [10.99.0.0/16]
routes6: ["fd00:99::/64"]
redirect_gateway: [def1]
scripts: { up: ./up.sh, down: ./down.sh }
reconnect: { initial_delay: 2, max_delay: 30 }
management: { listen: 127.0.0.2:7506 }
dead_peer_timeout: 0
state_dir: state
`);
  assert.deepEqual(c.remotes, [
    { host: "vpn1.example.com", port: 1194, proto: "udp" },
    { host: "198.51.100.7", port: 443, proto: "tcp" },
    { host: "2001:db8::7", port: 1194, proto: "udp" },
  ]);
  assert.equal(c.remoteRandom, true);
  assert.deepEqual(c.dev, { type: "tap", name: "tap7", mtu: 1400 });
  assert.equal(c.pki.ca.kind, "inline");
  assert.deepEqual(c.pki.key, { kind: "file", path: "/secure/alice.key" });
  assert.equal(c.pki.tlsCrypt!.kind, "inline");
  assert.equal(c.serverName, "vpn.example.com");
  assert.deepEqual(c.data.ciphers, ["CHACHA20-POLY1305"]);
  assert.equal(c.data.replayWindow, 256);
  assert.deepEqual(c.keepalive, { interval: 5, timeout: 60 });
  assert.deepEqual(c.log, { level: "debug" });
  assert.deepEqual(c.pull, {
    routes: false,
    redirectGateway: false,
    netGatewayRoutes: true,
    dns: "resolv.conf",
    filter: [
      { action: "accept", text: "route 10.20." },
      { action: "ignore", text: "route " },
      { action: "reject", text: "dhcp-option DNS" },
    ],
  });
  assert.deepEqual(c.routes.map((p) => p.text), ["10.99.0.0/16"]);
  assert.deepEqual(c.routes6.map((p) => p.text), ["fd00:99::/64"]);
  assert.deepEqual(c.redirectGateway, ["def1"]);
  assert.deepEqual(c.scripts, { up: "/home/a/up.sh", down: "/home/a/down.sh" });
  assert.deepEqual(c.reconnect, { initialDelay: 2, maxDelay: 30 });
  assert.deepEqual(c.management, {
    listen: { kind: "tcp", host: "127.0.0.2", port: 7506 },
    passwordFile: null,
    hold: false,
    clientAuth: false,
  });
  assert.equal(c.deadPeerTimeout, 0);
  assert.equal(c.stateDir, "/home/a/state");
});

Deno.test("parseConfig() reads the client's mssfix: auto by default, auto, 0 or a size", () => {
  assert.equal(client(HEAD).mssfix, "auto");
  assert.equal(client(HEAD + "mssfix: auto\n").mssfix, "auto");
  assert.equal(client(HEAD + "mssfix: 0\n").mssfix, 0);
  assert.equal(client(HEAD + "mssfix: 1300\n").mssfix, 1300);
});

Deno.test("parseConfig() gives remotes the top-level proto by default", () => {
  const c = client(
    "mode: client\nproto: tcp\nremotes: [{ host: a.example }]\npki: { ca: a, cert: b, key: c }\n",
  );
  assert.deepEqual(c.remotes, [{ host: "a.example", port: 1194, proto: "tcp" }]);
});

const CLIENT_ERRORS: [string, string, string][] = [
  [
    "missing remotes",
    "mode: client\npki: { ca: a, cert: b, key: c }\n",
    "c.yaml:1: remotes: required key is missing",
  ],
  [
    "empty remotes",
    "mode: client\nremotes: []\n",
    "c.yaml:2: remotes: expected a non-empty list of remotes ({ host, port }), got a list",
  ],
  [
    "null remotes",
    "mode: client\nremotes:\n",
    "c.yaml:2: remotes: expected a non-empty list of remotes ({ host, port }), got null",
  ],
  [
    "remote without host",
    "mode: client\nremotes:\n  - port: 1194\n",
    "c.yaml:3: remotes[0].host: required key is missing",
  ],
  [
    "remote as a string",
    "mode: client\nremotes: [vpn.example.com]\n",
    'c.yaml:2: remotes[0]: expected a map, got "vpn.example.com"',
  ],
  [
    "bad remote host",
    "mode: client\nremotes:\n  - { host: vpn..example.com }\n",
    'c.yaml:3: remotes[0].host: expected a host name or IP address, got "vpn..example.com"',
  ],
  [
    "bad remote IP",
    "mode: client\nremotes:\n  - { host: 10.0.0.300 }\n",
    'c.yaml:3: remotes[0].host: expected a host name or IP address, got "10.0.0.300"',
  ],
  [
    "bad remote port",
    "mode: client\nremotes:\n  - { host: a.example, port: 99999 }\n",
    "c.yaml:3: remotes[0].port: expected a port from 1 to 65535, got 99999",
  ],
  [
    "misspelt remote key",
    "mode: client\nremotes:\n  - { hots: a.example }\n",
    "c.yaml:3: remotes[0].hots: unknown key (did you mean host?)",
  ],
  ["server-only key", HEAD + "listen: {}\n", "c.yaml:4: listen: unknown key"],
  [
    "misspelt top key",
    HEAD + "remote_randon: true\n",
    "c.yaml:4: remote_randon: unknown key (did you mean remote_random?)",
  ],
  ["bad proto", HEAD + "proto: quic\n", 'c.yaml:4: proto: expected one of tcp, udp, got "quic"'],
  [
    "bad pull.dns",
    HEAD + "pull: { dns: systemd }\n",
    'c.yaml:4: pull.dns: expected one of none, resolv.conf, got "systemd"',
  ],
  [
    "pull flag as a string",
    HEAD + "pull:\n  routes: no\n",
    'c.yaml:5: pull.routes: expected true or false, got "no"',
  ],
  [
    "net_gateway_routes as a string",
    HEAD + "pull: { net_gateway_routes: yes }\n",
    'c.yaml:4: pull.net_gateway_routes: expected true or false, got "yes"',
  ],
  [
    "pull.filter not a list",
    HEAD + "pull:\n  filter: { ignore: route }\n",
    "c.yaml:5: pull.filter: expected a list, got a map",
  ],
  [
    "pull.filter rule as a string",
    HEAD + "pull:\n  filter:\n    - ignore route\n",
    'c.yaml:6: pull.filter[0]: expected a map with one key, accept, ignore or reject, whose value is the option text to match, got "ignore route"',
  ],
  [
    "pull.filter rule with an unknown action",
    HEAD + "pull:\n  filter:\n    - { acept: route }\n",
    "c.yaml:6: pull.filter[0].acept: unknown key (did you mean accept?)",
  ],
  [
    "pull.filter rule with two actions",
    HEAD + "pull:\n  filter:\n    - { accept: route, ignore: route }\n",
    "c.yaml:6: pull.filter[0]: expected a map with one key, accept, ignore or reject, whose value is the option text to match, got a map",
  ],
  [
    "pull.filter rule with an empty text",
    HEAD + 'pull:\n  filter:\n    - ignore: ""\n',
    'c.yaml:6: pull.filter[0].ignore: expected the start of a pushed option, such as "route 10.", got ""',
  ],
  [
    "pull.filter rule with a comma",
    HEAD + 'pull:\n  filter:\n    - reject: "route 10.0.0.0,"\n',
    'c.yaml:6: pull.filter[0].reject: expected text without commas (pushed options never contain one), got "route 10.0.0.0,"',
  ],
  [
    "empty server_name",
    HEAD + 'server_name: ""\n',
    'c.yaml:4: server_name: expected a non-empty string, got ""',
  ],
  ["script not a path", HEAD + "scripts: { up: 5 }\n", "c.yaml:4: scripts.up: expected a file path, got 5"],
  [
    "reconnect max below initial",
    HEAD + "reconnect:\n  initial_delay: 10\n  max_delay: 5\n",
    "c.yaml:6: reconnect.max_delay: expected max_delay of at least initial_delay (10), got 5",
  ],
  [
    "reconnect zero",
    HEAD + "reconnect: { initial_delay: 0 }\n",
    "c.yaml:4: reconnect.initial_delay: expected a positive whole number of seconds, got 0",
  ],
  [
    "keepalive timeout too short",
    HEAD + "keepalive: { interval: 40 }\n",
    "c.yaml:4: keepalive.interval: expected timeout at least twice interval (40 s → 80 s), got 60",
  ],
  [
    "negative dead_peer_timeout",
    HEAD + "dead_peer_timeout: -1\n",
    "c.yaml:4: dead_peer_timeout: expected a whole number of seconds, 0-3600 (0 = off), got -1",
  ],
  [
    "missing key file",
    "mode: client\nremotes: [{ host: a.b }]\npki:\n  ca: a\n  cert: b\n",
    "c.yaml:3: pki.key: required key is missing",
  ],
  [
    "IPv6 in client routes",
    HEAD + 'routes: ["fd00::/8"]\n',
    'c.yaml:4: routes[0]: expected an IPv4 prefix such as 192.168.10.0/24, got "fd00::/8" (put IPv6 prefixes in routes6)',
  ],
  [
    "local redirect flag",
    HEAD + "redirect_gateway: [all]\n",
    'c.yaml:4: redirect_gateway[0]: expected one of !ipv4, bypass-dhcp, bypass-dns, def1, ipv6, local, got "all"',
  ],
  [
    "mssfix above dev.mtu",
    HEAD + "dev: { mtu: 1400 }\nmssfix: 1450\n",
    "c.yaml:5: mssfix: expected auto, 0 (off) or an integer from 576 to 1400 (dev.mtu), got 1450",
  ],
];

for (const [what, text, message] of CLIENT_ERRORS) {
  Deno.test(`parseConfig() rejects a client config with ${what}`, () => fails(text, message));
}
