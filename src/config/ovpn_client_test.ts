import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseOvpnClient } from "./ovpn_client.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
const STATIC = "-----BEGIN OpenVPN Static key V1-----\n00112233\n-----END OpenVPN Static key V1-----\n";

/** The shape `tsvpn pki bundle --format ovpn` emits. */
const BUNDLE = `client
dev tun
proto udp
remote vpn.example.com 1194
nobind
persist-key
persist-tun
remote-cert-tls server
data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305
verb 3
<ca>
${CERT}</ca>
<cert>
${CERT}</cert>
<key>
${KEY}</key>
<tls-crypt>
${STATIC}</tls-crypt>
`;

const MINIMAL = "client\nremote a.example\nca ca.crt\ncert c.crt\nkey c.key\n";

function fails(text: string, message: string): void {
  assert.throws(() => parseOvpnClient(text, "c.ovpn"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("parseOvpnClient() reads a tsvpn bundle profile with inline keys and ignores nothing", () => {
  const { config, ignored } = parseOvpnClient(BUNDLE, "alice.ovpn");
  assert.deepEqual(ignored, []);
  assert.equal(config.mode, "client");
  assert.deepEqual(config.remotes, [{ host: "vpn.example.com", port: 1194, proto: "udp" }]);
  assert.deepEqual(config.dev, { type: "tun", name: "tsvpn0", mtu: 1500 });
  assert.deepEqual(config.pki.ca, { kind: "inline", pem: CERT });
  assert.deepEqual(config.pki.cert, { kind: "inline", pem: CERT });
  assert.deepEqual(config.pki.key, { kind: "inline", pem: KEY });
  assert.deepEqual(config.pki.tlsCrypt, { kind: "inline", pem: STATIC });
  assert.equal(config.pki.tlsAuth, null);
  assert.deepEqual(config.data.ciphers, ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"]);
  assert.deepEqual(config.log, { level: "info" });
  assert.equal(config.keepalive, null);
  assert.deepEqual(config.pull, {
    routes: true,
    redirectGateway: true,
    netGatewayRoutes: false,
    dns: "none",
    filter: [],
  });
});

const SAMPLE = "/usr/share/doc/openvpn/examples/sample-config-files/client.conf";
const haveSample = (() => {
  try {
    return Deno.statSync(SAMPLE).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "parseOvpnClient() reads Debian's sample client.conf with file paths beside it",
  ignore: !haveSample, // needs the openvpn package's examples
  fn: () => {
    const path = SAMPLE;
    const text = Deno.readTextFileSync(path);
    const { config, ignored } = parseOvpnClient(text, path);
    const dir = "/usr/share/doc/openvpn/examples/sample-config-files";
    assert.deepEqual(config.remotes, [{ host: "my-server-1", port: 1194, proto: "udp" }]);
    assert.deepEqual(config.pki.ca, { kind: "file", path: `${dir}/ca.crt` });
    assert.deepEqual(config.pki.cert, { kind: "file", path: `${dir}/client.crt` });
    assert.deepEqual(config.pki.key, { kind: "file", path: `${dir}/client.key` });
    assert.equal(config.dev.type, "tun");
    assert.equal(config.log.level, "info");
    // Everything active in the sample (client, dev, proto, remote, resolv-retry, nobind,
    // persist-*, ca/cert/key, remote-cert-tls, verb) has a tsvpn meaning.
    assert.deepEqual(ignored, []);
  },
});

Deno.test("parseOvpnClient() translates the options it knows", () => {
  const { config, ignored } = parseOvpnClient(
    `client
dev tap0
proto tcp-client
port 443
remote vpn1.example.com
remote 198.51.100.7 1195 udp
remote 2001:DB8::7 1196
remote-random
tun-mtu 1400
ca /etc/ca.crt
cert alice.crt
key alice.key
tls-auth ta.key
key-direction 1
auth SHA256
crl-verify crl.pem
verify-x509-name vpn.example.com name
cipher CHACHA20-POLY1305
data-ciphers AES-128-GCM:AES-256-CBC
redirect-gateway def1 bypass-dhcp autolocal
route 10.99.0.0 255.255.0.0
route 10.1.2.3
route-ipv6 fd00:99::/64
pull-filter ignore "redirect-gateway"
pull-filter ignore "dhcp-option"
script-security 2
up ./up.sh
down /etc/openvpn/down.sh
verb 5
keepalive 5 30
reneg-sec 600
replay-window 128
connect-retry 2 30
management 127.0.0.1 7505
comp-lzo
auth-user-pass alice.pass
reneg-bytes 200000
tran-window 30
`,
    "/home/a/alice.ovpn",
  );
  assert.deepEqual(config.remotes, [
    { host: "vpn1.example.com", port: 443, proto: "tcp" },
    { host: "198.51.100.7", port: 1195, proto: "udp" },
    { host: "2001:db8::7", port: 1196, proto: "tcp" },
  ]);
  assert.equal(config.remoteRandom, true);
  assert.equal(config.proto, "tcp");
  assert.deepEqual(config.dev, { type: "tap", name: "tap0", mtu: 1400 });
  assert.deepEqual(config.pki.ca, { kind: "file", path: "/etc/ca.crt" });
  assert.deepEqual(config.pki.cert, { kind: "file", path: "/home/a/alice.crt" });
  assert.deepEqual(config.pki.crl, { kind: "file", path: "/home/a/crl.pem" });
  assert.deepEqual(config.pki.tlsAuth, {
    key: { kind: "file", path: "/home/a/ta.key" },
    direction: 1,
    digest: "SHA256",
  });
  assert.equal(config.serverName, "vpn.example.com");
  assert.deepEqual(config.data, {
    ciphers: ["AES-128-GCM", "CHACHA20-POLY1305"],
    renegSeconds: 600,
    renegBytes: 200000,
    transitionWindow: 30,
    replayWindow: 128,
  });
  assert.deepEqual(config.redirectGateway, ["def1", "bypass-dhcp"]);
  assert.deepEqual(config.routes.map((p) => p.text), ["10.99.0.0/16", "10.1.2.3/32"]);
  assert.deepEqual(config.routes6.map((p) => p.text), ["fd00:99::/64"]);
  assert.deepEqual(config.pull, {
    routes: true,
    redirectGateway: true,
    netGatewayRoutes: false,
    dns: "none",
    filter: [{ action: "ignore", text: "redirect-gateway" }, { action: "ignore", text: "dhcp-option" }],
  });
  assert.deepEqual(config.scripts, { up: "/home/a/up.sh", down: "/etc/openvpn/down.sh" });
  assert.equal(config.log.level, "debug");
  assert.deepEqual(config.keepalive, { interval: 5, timeout: 30 });
  assert.deepEqual(config.reconnect, { initialDelay: 2, maxDelay: 30 });
  assert.deepEqual(config.management, {
    listen: { kind: "tcp", host: "127.0.0.1", port: 7505 },
    passwordFile: null,
    hold: false,
    clientAuth: false,
  });
  assert.deepEqual(ignored, [
    {
      line: 19,
      option: "data-ciphers AES-256-CBC",
      reason: "tsvpn supports only AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305",
    },
    { line: 20, option: "redirect-gateway autolocal", reason: "flag not supported by tsvpn" },
    { line: 35, option: "comp-lzo", reason: "compression is not supported" },
  ]);
  assert.deepEqual(config.auth, { userPassFile: "/home/a/alice.pass" });
});

Deno.test("parseOvpnClient() honours route-nopull, [inline] references and tls-auth direction arguments", () => {
  const { config } = parseOvpnClient(
    `client\nremote a.example\nroute-nopull\nca [inline]\n<ca>\n${CERT}</ca>\ncert c.crt\nkey c.key\n` +
      `tls-auth [inline] 0\n<tls-auth>\n${STATIC}</tls-auth>\n`,
    "c.ovpn",
  );
  assert.deepEqual(config.pull, {
    routes: false,
    redirectGateway: false,
    netGatewayRoutes: false,
    dns: "none",
    filter: [],
  });
  assert.deepEqual(config.pki.ca, { kind: "inline", pem: CERT });
  assert.deepEqual(config.pki.tlsAuth, {
    key: { kind: "inline", pem: STATIC },
    direction: 0,
    digest: "SHA1",
  });
});

Deno.test("parseOvpnClient() lists scripts as ignored without script-security 2", () => {
  const { config, ignored } = parseOvpnClient(MINIMAL + "up /etc/openvpn/update-resolv-conf\n", "c.ovpn");
  assert.equal(config.scripts.up, null);
  assert.deepEqual(ignored, [
    {
      line: 6,
      option: "up /etc/openvpn/update-resolv-conf",
      reason: "scripts run only with script-security 2 or higher",
    },
  ]);
});

Deno.test("parseOvpnClient() takes the CN from a subject-type verify-x509-name and lists unknown options", () => {
  const { config, ignored } = parseOvpnClient(
    MINIMAL + "verify-x509-name 'C=KG, O=Test, CN=vpn-server'\nfrobnicate 3\n",
    "c.ovpn",
  );
  assert.equal(config.serverName, "vpn-server");
  assert.deepEqual(ignored, [{ line: 7, option: "frobnicate 3", reason: "not supported by tsvpn" }]);
});

Deno.test("parseOvpnClient() lists options named like Object's own properties as not supported", () => {
  const { ignored } = parseOvpnClient(MINIMAL + "constructor 1\ntoString 2\n", "c.ovpn");
  assert.deepEqual(ignored, [
    { line: 6, option: "constructor 1", reason: "not supported by tsvpn" },
    { line: 7, option: "tostring 2", reason: "not supported by tsvpn" },
  ]);
});

Deno.test("parseOvpnClient() translates pull-filter lines into pull.filter rules in file order, text exactly as quoted", () => {
  const { config, ignored } = parseOvpnClient(
    MINIMAL +
      'pull-filter accept "route 192.168.1."\npull-filter ignore "route "\npull-filter reject dhcp-option\n' +
      "--pull-filter ignore 'dhcp-option DOMAIN x'\n",
    "c.ovpn",
  );
  assert.deepEqual(ignored, []);
  assert.deepEqual(config.pull.filter, [
    { action: "accept", text: "route 192.168.1." },
    { action: "ignore", text: "route " },
    { action: "reject", text: "dhcp-option" },
    { action: "ignore", text: "dhcp-option DOMAIN x" },
  ]);
  // The filters do the work now: the coarse pull switches stay on.
  assert.equal(config.pull.routes, true);
  assert.equal(config.pull.redirectGateway, true);
});

const OVPN_ERRORS: [string, string, string][] = [
  [
    "no remote",
    "client\nca a\ncert b\nkey c\n",
    "c.ovpn: remote: required option is missing (remote HOST [PORT])",
  ],
  [
    "no key",
    "client\nremote a.example\nca a\ncert b\n",
    "c.ovpn: key: required option is missing (key FILE or an inline <key> block)",
  ],
  [
    "a server option",
    "server 10.8.0.0 255.255.255.0\n",
    "c.ovpn:1: server: expected a client profile, got a server option",
  ],
  ["dev null", MINIMAL + "dev null\n", 'c.ovpn:6: dev: expected tun or tap, got "null"'],
  [
    "bad remote port",
    "client\nremote a.example 70000\nca a\ncert b\nkey c\n",
    'c.ovpn:2: remote: expected a port from 1 to 65535, got "70000"',
  ],
  [
    "bad remote host",
    "client\nremote bad..host\nca a\ncert b\nkey c\n",
    'c.ovpn:2: remote: expected a host name or IP address, got "bad..host"',
  ],
  ["bad proto", MINIMAL + "proto sctp\n", 'c.ovpn:6: proto: expected udp or tcp, got "sctp"'],
  [
    "server proto",
    MINIMAL + "proto tcp-server\n",
    'c.ovpn:6: proto: expected a client protocol, got "tcp-server"',
  ],
  [
    "no supported cipher",
    MINIMAL + "data-ciphers AES-256-CBC:BF-CBC\n",
    'c.ovpn:6: data-ciphers: expected at least one of AES-256-GCM, AES-128-GCM, CHACHA20-POLY1305, got "AES-256-CBC:BF-CBC"',
  ],
  [
    "remote-cert-tls client",
    MINIMAL + "remote-cert-tls client\n",
    'c.ovpn:6: remote-cert-tls: expected server, got "client"',
  ],
  [
    "tls-auth and tls-crypt",
    MINIMAL + "tls-auth ta.key 1\ntls-crypt tc.key\n",
    "c.ovpn:7: tls-crypt: expected either tls-crypt or tls-auth, not both",
  ],
  [
    "bad tls-auth direction",
    MINIMAL + "tls-auth ta.key 2\n",
    'c.ovpn:6: tls-auth: expected key direction 0 or 1, got "2"',
  ],
  [
    "inline block without PEM",
    MINIMAL + "<tls-crypt>\nhello\n</tls-crypt>\n",
    "c.ovpn:6: tls-crypt: expected PEM text (-----BEGIN …) in the inline block",
  ],
  [
    "a pull-filter with an unknown action",
    MINIMAL + 'pull-filter drop "route"\n',
    'c.ovpn:6: pull-filter: expected accept, ignore or reject, got "drop"',
  ],
  [
    "a pull-filter without text",
    MINIMAL + "pull-filter ignore\n",
    "c.ovpn:6: pull-filter: expected the text of the options to filter",
  ],
  [
    "a pull-filter with an empty text",
    MINIMAL + 'pull-filter ignore ""\n',
    "c.ovpn:6: pull-filter: expected the text of the options to filter, got an empty text",
  ],
  [
    "a pull-filter with unquoted spaces",
    MINIMAL + "pull-filter ignore route 10.0.0.0\n",
    "c.ovpn:6: pull-filter: expected one text after the action (quote text that contains spaces)",
  ],
  ["bad verb", MINIMAL + "verb loud\n", 'c.ovpn:6: verb: expected a verbosity from 0 to 11, got "loud"'],
  [
    "route with host bits",
    MINIMAL + "route 10.1.2.3 255.255.0.0\n",
    "c.ovpn:6: route: expected a network with host bits zero, got 10.1.2.3 255.255.0.0 (did you mean 10.1.0.0?)",
  ],
  [
    "bad netmask",
    MINIMAL + "route 10.1.0.0 255.0.255.0\n",
    'c.ovpn:6: route: expected a netmask such as 255.255.255.0, got "255.0.255.0"',
  ],
  [
    "short ping-restart",
    MINIMAL + "ping 10\nping-restart 15\n",
    "c.ovpn:7: ping-restart: expected a restart timeout at least twice the ping interval (20 s)",
  ],
  [
    "public management",
    MINIMAL + "management 0.0.0.0 7505\n",
    'c.ovpn:6: management: expected a loopback address (127.0.0.0/8, ::1 or localhost), got "0.0.0.0"',
  ],
  ["missing argument", MINIMAL + "tun-mtu\n", "c.ovpn:6: tun-mtu: expected an MTU from 576 to 65535"],
];

for (const [what, text, message] of OVPN_ERRORS) {
  Deno.test(`parseOvpnClient() rejects a profile with ${what}`, () => fails(text, message));
}

Deno.test("parseOvpnClient() keeps mssfix 0 and turns a size into the uplink-derived auto", () => {
  assert.equal(parseOvpnClient(MINIMAL, "c.ovpn").config.mssfix, "auto");
  assert.equal(parseOvpnClient(MINIMAL + "mssfix 0\n", "c.ovpn").config.mssfix, 0);
  const { config, ignored } = parseOvpnClient(MINIMAL + "mssfix 1400 mtu\n", "c.ovpn");
  assert.equal(config.mssfix, "auto");
  assert.deepEqual(ignored, [{
    line: 6,
    option: "mssfix 1400 mtu",
    reason: "tsvpn clamps TCP MSS to fit the uplink's MTU (mssfix: auto)",
  }]);
});

Deno.test("parseOvpnClient() refuses auth-user-pass without a file (tsvpn cannot prompt)", () => {
  const base = "client\nremote vpn.example.com\nca ca.crt\ncert c.crt\nkey c.key\n";
  assert.throws(
    () => parseOvpnClient(base + "auth-user-pass\n", "/p/a.ovpn"),
    /a\.ovpn:6: auth-user-pass: expected a file with the username and password/,
  );
  assert.throws(() => parseOvpnClient(base + "auth-user-pass stdin\n", "/p/a.ovpn"), /cannot prompt/);
  assert.equal(parseOvpnClient(base, "/p/a.ovpn").config.auth, null);
});
