import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import { type CcdFile, translateOvpnServer } from "./ovpn_server.ts";
import type { ServerConfig } from "./schema.ts";

const STATIC = "-----BEGIN OpenVPN Static key V1-----\n00112233\n-----END OpenVPN Static key V1-----\n";

const SERVER_CONF = `# own test config
port 443
proto tcp-server
dev tun
ca ca.crt
cert server.crt
key server.key  # keep secret
dh none
tls-crypt tc.key
crl-verify crl.pem
server 10.9.0.0 255.255.255.0
server-ipv6 fd00:9::/64
topology subnet
client-to-client
duplicate-cn
max-clients 50
route 192.168.10.0 255.255.255.0
route-ipv6 fd00:99::/64
push "route 10.20.0.0 255.255.0.0"
push "route-ipv6 2001:db8::/32"
push "redirect-gateway def1 bypass-dhcp"
push "dhcp-option DNS 10.9.0.1"
push "dhcp-option DNS6 fd00:9::1"
push "dhcp-option DOMAIN corp.internal"
push "block-outside-dns"
client-config-dir ccd
ifconfig-pool-persist ipp.txt 600
keepalive 10 60
data-ciphers AES-256-GCM:CHACHA20-POLY1305
reneg-sec 1800
management 127.0.0.1 7505 mgmt-pw.txt
status status.log 30
verb 4
user nobody
comp-lzo
persist-key
persist-tun
reneg-bytes 200000
tran-window 30
max-routes-per-client 1000
`;

const CCD: CcdFile[] = [
  {
    name: "alice",
    path: "/etc/openvpn/ccd/alice",
    text: "iroute 192.168.10.0 255.255.255.0\nifconfig-push 10.9.0.50 255.255.255.0\n" +
      'push "route 172.16.0.0 255.255.0.0"\nifconfig-ipv6-push fd00:9::50/64\niroute-ipv6 fd00:99::/64\n',
  },
  { name: "mallory", path: "/etc/openvpn/ccd/mallory", text: "disable\n" },
  { name: "bob", path: "/etc/openvpn/ccd/bob", text: "foo bar\n" },
];

function load(yaml: string): ServerConfig {
  const c = parseConfig(yaml, "/etc/openvpn/server.yaml");
  assert.equal(c.mode, "server");
  return c as ServerConfig;
}

Deno.test("translateOvpnServer() translates a full server config with client-config-dir into loadable YAML", () => {
  const dirs: string[] = [];
  const { yaml, ignored } = translateOvpnServer(SERVER_CONF, "/etc/openvpn/server.conf", {
    readCcd: (dir) => {
      dirs.push(dir);
      return CCD;
    },
  });
  assert.deepEqual(dirs, ["/etc/openvpn/ccd"]);
  const c = load(yaml);
  assert.deepEqual(c.listen, { host: "0.0.0.0", port: 443, proto: "tcp" });
  assert.equal(c.dev.type, "tun");
  assert.deepEqual(c.pki.ca, { kind: "file", path: "/etc/openvpn/ca.crt" });
  assert.deepEqual(c.pki.tlsCrypt, { kind: "file", path: "/etc/openvpn/tc.key" });
  assert.deepEqual(c.pki.crl, { kind: "file", path: "/etc/openvpn/crl.pem" });
  assert.deepEqual(c.data.ciphers, ["AES-256-GCM", "CHACHA20-POLY1305"]);
  assert.equal(c.data.renegSeconds, 1800);
  assert.equal(c.data.renegBytes, 200000);
  assert.equal(c.data.transitionWindow, 30);
  assert.deepEqual(c.keepalive, { interval: 10, timeout: 60 });
  assert.equal(c.log.level, "info");
  assert.deepEqual(c.management, {
    listen: { kind: "tcp", host: "127.0.0.1", port: 7505 },
    passwordFile: "/etc/openvpn/mgmt-pw.txt",
    hold: false,
    clientAuth: false,
  });
  const s = c.server;
  assert.equal(s.network!.text, "10.9.0.0/24");
  assert.equal(s.network6!.text, "fd00:9::/64");
  assert.equal(s.topology, "subnet");
  assert.equal(s.clientToClient, true);
  assert.equal(s.duplicateCn, true);
  assert.equal(s.maxClients, 50);
  assert.equal(s.maxMacsPerClient, 1000);
  assert.equal(s.poolPersist, "/etc/openvpn/ipp.json");
  assert.equal(s.statusFile, "/etc/openvpn/status.log");
  assert.equal(s.statusInterval, 30);
  assert.deepEqual(s.routes.map((p) => p.text), ["192.168.10.0/24"]);
  assert.deepEqual(s.routes6.map((p) => p.text), ["fd00:99::/64"]);
  assert.deepEqual(s.push.routes.map((p) => p.text), ["10.20.0.0/16"]);
  assert.deepEqual(s.push.routes6.map((p) => p.text), ["2001:db8::/32"]);
  assert.deepEqual(s.push.redirectGateway, ["def1", "bypass-dhcp"]);
  assert.deepEqual(s.push.dns.map((a) => a.text), ["10.9.0.1", "fd00:9::1"]);
  assert.equal(s.push.domain, "corp.internal");
  assert.deepEqual([...s.clients.keys()], ["alice", "bob", "mallory"]);
  const alice = s.clients.get("alice")!;
  assert.equal(alice.address!.text, "10.9.0.50");
  assert.equal(alice.address6!.text, "fd00:9::50");
  assert.deepEqual(alice.iroutes.map((p) => p.text), ["192.168.10.0/24"]);
  assert.deepEqual(alice.iroutes6.map((p) => p.text), ["fd00:99::/64"]);
  assert.deepEqual(alice.push.routes.map((p) => p.text), ["172.16.0.0/16"]);
  assert.equal(s.clients.get("mallory")!.disabled, true);
  assert.equal(s.clients.get("bob")!.disabled, false);
  assert.deepEqual(ignored, [
    { file: "/etc/openvpn/server.conf", line: 8, option: "dh none", reason: "not needed: tsvpn uses ECDHE" },
    {
      file: "/etc/openvpn/server.conf",
      line: 25,
      option: 'push "block-outside-dns"',
      reason: "pushing block-outside-dns is not supported",
    },
    {
      file: "/etc/openvpn/server.conf",
      line: 27,
      option: "ifconfig-pool-persist ipp.txt 600",
      reason: "/etc/openvpn/ipp.txt was not read: existing clients' addresses are not carried over",
    },
    {
      file: "/etc/openvpn/server.conf",
      line: 34,
      option: "user nobody",
      reason: "tsvpn does not drop privileges",
    },
    {
      file: "/etc/openvpn/server.conf",
      line: 35,
      option: "comp-lzo",
      reason:
        "tsvpn never compresses; server.compat.compress (lzo-no, stub, stub-v2) gives clients the framing without compression",
    },
    { file: "/etc/openvpn/ccd/bob", line: 1, option: "foo bar", reason: "not supported by tsvpn" },
  ]);
});

Deno.test("translateOvpnServer() comments each translated key with its OpenVPN line", () => {
  const { yaml } = translateOvpnServer(SERVER_CONF, "/etc/openvpn/server.conf", { readCcd: () => CCD });
  assert.match(yaml, /^# tsvpn server config translated from server\.conf/);
  assert.match(
    yaml,
    /\n {2}network: 10\.9\.0\.0\/24 {2}# server\.conf:11 server 10\.9\.0\.0 255\.255\.255\.0\n/,
  );
  assert.match(yaml, /\n {2}port: 443 {2}# server\.conf:2 port 443\n/);
  assert.match(
    yaml,
    /\n {6}address: 10\.9\.0\.50 {2}# alice:2 ifconfig-push 10\.9\.0\.50 255\.255\.255\.0\n/,
  );
  assert.match(
    yaml,
    /# Certificates and keys; relative paths resolve against this file's directory\.\npki:\n/,
  );
});

Deno.test("translateOvpnServer() uses net30 when OpenVPN 2.6 would, and accepts net30 ifconfig-push pairs", () => {
  const { yaml } = translateOvpnServer(
    "dev tun\nca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\nclient-config-dir ccd\n",
    "s.conf",
    { readCcd: () => [{ name: "carol", path: "ccd/carol", text: "ifconfig-push 10.8.0.6 10.8.0.5\n" }] },
  );
  const c = load(yaml);
  assert.equal(c.server.topology, "net30");
  assert.equal(c.server.clients.get("carol")!.address!.text, "10.8.0.6");
  assert.match(yaml, /topology: net30 {2}# OpenVPN 2\.6's default when topology is not given/);
});

Deno.test("translateOvpnServer() turns server-bridge into a tap bridge and reports the pool it drops", () => {
  const { yaml, ignored } = translateOvpnServer(
    "dev tap0\nca a\ncert b\nkey c\nserver-bridge 10.8.0.4 255.255.255.0 10.8.0.50 10.8.0.100\n",
    "s.conf",
  );
  const c = load(yaml);
  assert.deepEqual(c.dev, { type: "tap", name: "tap0", mtu: 1500 });
  assert.equal(c.server.bridge, true);
  assert.equal(c.server.network, null);
  assert.deepEqual(ignored.map((i) => i.line), [5]);
});

Deno.test("translateOvpnServer() writes inline keys as YAML blocks with tls-auth direction and digest", () => {
  const { yaml, ignored } = translateOvpnServer(
    `proto udp6\nca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\ntopology subnet\nkey-direction 0\nauth SHA256\n` +
      `<tls-auth>\n${STATIC}</tls-auth>\ncipher AES-128-GCM\nmanagement 0.0.0.0 7505\nmanagement /run/tsvpn.sock unix mgmt.pw\n`,
    "s.conf",
  );
  const c = load(yaml);
  assert.equal(c.listen.host, "::");
  assert.deepEqual(c.pki.tlsAuth, { key: { kind: "inline", pem: STATIC }, direction: 0, digest: "SHA256" });
  assert.deepEqual(c.data.ciphers, ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"]);
  assert.deepEqual(c.management, {
    listen: { kind: "unix", path: "/run/tsvpn.sock" },
    passwordFile: "/etc/openvpn/mgmt.pw",
    hold: false,
    clientAuth: false,
  });
  assert.deepEqual(ignored.map((i) => [i.line, i.option]), [[15, "management 0.0.0.0 7505"]]);
});

Deno.test("translateOvpnServer() reports an unused auth digest and an unread client-config-dir", () => {
  const { ignored } = translateOvpnServer(
    "ca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\nauth SHA512\nclient-config-dir ccd\n",
    "s.conf",
  );
  assert.deepEqual(ignored.map((i) => [i.line, i.reason]), [
    [5, "with AEAD ciphers the digest only matters for tls-auth, which is not used"],
    [6, "client-config-dir was not read"],
  ]);
});

Deno.test("translateOvpnServer() reports options named like Object's own properties as not supported", () => {
  const { yaml, ignored } = translateOvpnServer(
    "server 10.8.0.0 255.255.255.0\nconstructor ca.crt\n__proto__ x\nhasOwnProperty y\n",
    "s.conf",
  );
  assert.doesNotMatch(yaml, /function|native code/);
  assert.deepEqual(ignored.map((i) => [i.line, i.option, i.reason]), [
    [2, "constructor ca.crt", "not supported by tsvpn"],
    [3, "__proto__ x", "not supported by tsvpn"],
    [4, "hasownproperty y", "not supported by tsvpn"],
  ]);
  load(yaml.replace("mode: server", "mode: server\npki: { ca: a, cert: b, key: c }"));
});

const IMPORT_ERRORS: [string, string, string][] = [
  [
    "a bad netmask",
    "server 10.8.0.0 255.0.255.0\n",
    's.conf:1: server: expected a netmask such as 255.255.255.0, got "255.0.255.0"',
  ],
  ["a client option", "client\n", "s.conf:1: client: expected a server config, got a client option"],
  [
    "an unknown topology",
    "topology star\n",
    's.conf:1: topology: expected one of net30, p2p, subnet, got "star"',
  ],
  [
    "a short keepalive",
    "keepalive 10 15\n",
    "s.conf:1: keepalive: expected a timeout at least twice the interval (20 s)",
  ],
  [
    "a bad pushed route",
    'push "route 10.0.0.1 255.0.0.0"\n',
    "s.conf:1: push: expected a network with host bits zero, got 10.0.0.1 255.0.0.0 (did you mean 10.0.0.0?)",
  ],
];

for (const [what, text, message] of IMPORT_ERRORS) {
  Deno.test(`translateOvpnServer() rejects ${what}`, () => {
    assert.throws(() => translateOvpnServer(text, "s.conf"), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, message);
      return true;
    });
  });
}

Deno.test("translateOvpnServer() turns client-connect, client-disconnect and learn-address into server.scripts, refusing script arguments", () => {
  const r = translateOvpnServer(
    "dev tun\nca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\nscript-security 2\n" +
      'client-connect /etc/openvpn/cc.sh\nlearn-address la.sh\nclient-disconnect "/bin/cd arg"\n',
    "/etc/openvpn/server.conf",
  );
  const c = parseConfig(r.yaml, "/etc/tsvpn/server.yaml") as ServerConfig;
  assert.deepEqual(c.server.scripts, {
    clientConnect: "/etc/openvpn/cc.sh",
    clientDisconnect: null,
    learnAddress: "/etc/openvpn/la.sh",
    timeout: 10,
  });
  assert.deepEqual(r.ignored.map((i) => [i.line, i.reason]), [
    [9, "script arguments are not supported; give a single executable"],
  ]);
});

Deno.test("translateOvpnServer() keeps a client-config-dir with push-reset live (server.client_config_dir), folding nothing", () => {
  const { yaml, ignored } = translateOvpnServer(
    "dev tun\nca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\nclient-config-dir ccd\n",
    "/etc/openvpn/server.conf",
    { readCcd: () => [...CCD, { name: "zed", path: "/etc/openvpn/ccd/zed", text: "push-reset\n" }] },
  );
  const c = load(yaml);
  assert.equal(c.server.clientConfigDir, "/etc/openvpn/ccd");
  assert.deepEqual([...c.server.clients.keys()], []);
  assert.deepEqual(ignored, []);
});
