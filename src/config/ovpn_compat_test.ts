import assert from "node:assert/strict";
import { parseConfig } from "./load.ts";
import { parseOvpnClient } from "./ovpn_client.ts";
import { translateOvpnServer } from "./ovpn_server.ts";
import type { ClientConfig, ServerConfig } from "./schema.ts";

const BASE = "dev tun\nca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\ntopology subnet\n";

function imported(extra: string): { config: ServerConfig; yaml: string; ignored: string[] } {
  const { yaml, ignored } = translateOvpnServer(BASE + extra, "s.conf");
  const config = parseConfig(yaml, "/etc/openvpn/server.yaml") as ServerConfig;
  return { config, yaml, ignored: ignored.map((i) => `${i.line}: ${i.option}: ${i.reason}`) };
}

Deno.test("translateOvpnServer() turns comp-lzo no / compress / compress stub / compress stub-v2 into server.compat.compress", () => {
  const cases: [string, string][] = [
    ["comp-lzo no", "lzo-no"],
    ["compress", "stub"],
    ["compress stub", "stub"],
    ["compress stub-v2", "stub-v2"],
  ];
  for (const [option, framing] of cases) {
    const { config, yaml, ignored } = imported(option + "\n");
    assert.equal(config.server.compat.compress, framing, option);
    assert.match(yaml, new RegExp(`compress: ${framing} {2}# s\\.conf:7 ${option}`));
    assert.deepEqual(ignored, [], option);
  }
  assert.equal(imported("").config.server.compat.compress, "none");
});

Deno.test("translateOvpnServer() reports real compression and pushed compression options as not translated, with why", () => {
  for (
    const option of [
      "comp-lzo",
      "comp-lzo yes",
      "comp-lzo adaptive",
      "compress lz4",
      "compress lz4-v2",
      "compress lzo",
    ]
  ) {
    const { config, ignored } = imported(option + "\n");
    assert.equal(config.server.compat.compress, "none", option);
    assert.deepEqual(ignored, [
      `7: ${option}: tsvpn never compresses; server.compat.compress (lzo-no, stub, stub-v2) gives clients the framing without compression`,
    ]);
  }
  const { config, ignored } = imported('comp-lzo no\npush "comp-lzo no"\n');
  assert.equal(config.server.compat.compress, "lzo-no");
  assert.deepEqual(ignored, [
    '8: push "comp-lzo no": server.compat.compress pushes the matching compression framing itself',
  ]);
});

Deno.test("server.compat.compress: a bad value or key names the file, line and key", () => {
  const yaml = (compat: string) =>
    `mode: server\npki: { ca: a, cert: b, key: c }\nserver:\n  network: 10.8.0.0/24\n  compat: ${compat}\n`;
  assert.throws(() => parseConfig(yaml("{ compress: lz4 }"), "s.yaml"), /s\.yaml:5: .*compress.*lz4/);
  assert.throws(() => parseConfig(yaml("{ compresss: stub }"), "s.yaml"), /s\.yaml:5: .*compresss/);
  assert.equal(
    (parseConfig(yaml("{ compress: stub-v2 }"), "s.yaml") as ServerConfig).server.compat.compress,
    "stub-v2",
  );
});

Deno.test("management.hold: true is a server option; a client config with it is a one-line error naming file:line", () => {
  const client = "mode: client\nremotes: [{ host: vpn.example.com }]\npki: { ca: a, cert: b, key: c }\n" +
    "management: { listen: /run/c.sock, hold: true }\n";
  assert.throws(() => parseConfig(client, "c.yaml"), /c\.yaml:4: .*hold is a server option/);
  const server =
    "mode: server\npki: { ca: a, cert: b, key: c }\nmanagement: { listen: /run/s.sock, hold: true }\n" +
    "server:\n  network: 10.8.0.0/24\n";
  assert.equal((parseConfig(server, "s.yaml") as ServerConfig).management!.hold, true);
});

Deno.test("translateOvpnServer() turns management-hold into management.hold", () => {
  const { config, ignored } = imported("management 127.0.0.1 7505 mgmt.pw\nmanagement-hold\n");
  assert.equal(config.management!.hold, true);
  assert.equal(config.management!.passwordFile, "/etc/openvpn/mgmt.pw");
  assert.deepEqual(ignored, []);
});

Deno.test("a client .ovpn with comp-lzo no / compress [stub|stub-v2] sets compat.compress; real compression is reported", () => {
  const profile = (option: string) =>
    parseOvpnClient(
      `client\nremote vpn.example.com 1194\nca a.crt\ncert b.crt\nkey c.key\n${option}\n`,
      "/p/c.ovpn",
    );
  for (
    const [option, framing] of [["comp-lzo no", "lzo-no"], ["compress", "stub"], [
      "compress stub-v2",
      "stub-v2",
    ]]
  ) {
    const r = profile(option);
    assert.equal(r.config.compat.compress, framing, option);
    assert.deepEqual(r.ignored, [], option);
  }
  const lz4 = profile("compress lz4-v2");
  assert.equal(lz4.config.compat.compress, "none");
  assert.deepEqual(lz4.ignored.map((i) => [i.line, i.option, i.reason]), [[
    6,
    "compress lz4-v2",
    "compression is not supported",
  ]]);
  const yaml = "mode: client\nremotes: [{ host: vpn.example.com }]\npki: { ca: a, cert: b, key: c }\n";
  assert.equal((parseConfig(yaml, "c.yaml") as ClientConfig).compat.compress, "none");
  assert.equal(
    (parseConfig(yaml + "compat: { compress: stub }\n", "c.yaml") as ClientConfig).compat.compress,
    "stub",
  );
});
