import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./config_error.ts";
import { readCcdDir, translateCcd } from "./ovpn_ccd.ts";
import { YamlWriter } from "./yaml_emit.ts";

function writer(): YamlWriter {
  return new YamlWriter([], new Map(), {});
}

Deno.test("translateCcd() maps a client file's options to server.clients.NAME keys", () => {
  const w = writer();
  const ignored = translateCcd({
    name: "alice",
    path: "ccd/alice",
    text:
      "ifconfig-push 10.8.0.6 10.8.0.5\nifconfig-ipv6-push fd00:8::6/64 fd00:8::1\niroute 192.168.1.0 255.255.255.0\n" +
      'push "dhcp-option DNS 10.8.0.1"\npush "redirect-gateway"\npush "dhcp-option WINS 10.0.0.1"\ndisable\n',
  }, w);
  assert.deepEqual(w.get("server.clients.alice.address")!.value, { kind: "scalar", value: "10.8.0.6" });
  assert.deepEqual(w.get("server.clients.alice.address6")!.value, { kind: "scalar", value: "fd00:8::6" });
  assert.deepEqual(w.get("server.clients.alice.iroutes")!.value, { kind: "list", items: ["192.168.1.0/24"] });
  assert.deepEqual(w.get("server.clients.alice.push.dns")!.value, { kind: "list", items: ["10.8.0.1"] });
  // A bare redirect-gateway becomes def1: tsvpn always redirects with two /1 routes.
  assert.deepEqual(w.get("server.clients.alice.push.redirect_gateway")!.value, {
    kind: "list",
    items: ["def1"],
  });
  assert.deepEqual(w.get("server.clients.alice.disabled")!.value, { kind: "scalar", value: true });
  assert.deepEqual(w.get("server.clients.alice.address")!.notes, ["alice:1 ifconfig-push 10.8.0.6 10.8.0.5"]);
  assert.deepEqual(ignored, [
    {
      file: "ccd/alice",
      line: 6,
      option: 'push "dhcp-option WINS 10.0.0.1"',
      reason: "dhcp-option WINS is not supported",
    },
  ]);
});

Deno.test("translateCcd() rejects a malformed ifconfig-push with the file and line", () => {
  assert.throws(
    () =>
      translateCcd(
        { name: "bob", path: "ccd/bob", text: "\nifconfig-push 10.8.0.300 255.255.255.0\n" },
        writer(),
      ),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'ccd/bob:2: ifconfig-push: expected an IPv4 address, got "10.8.0.300"');
      return true;
    },
  );
});

Deno.test("readCcdDir() returns regular files by name and skips hidden files and folders", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "alice"), "disable\n");
    await Deno.writeTextFile(join(dir, ".swp"), "x");
    await Deno.mkdir(join(dir, "sub"));
    assert.deepEqual(readCcdDir(dir), [{ name: "alice", path: join(dir, "alice"), text: "disable\n" }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
