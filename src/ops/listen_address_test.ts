import assert from "node:assert/strict";
import { formatManagementAddress, isLoopbackHost, parseManagementAddress } from "./listen_address.ts";

Deno.test("parseManagementAddress() reads HOST:PORT, [IPv6]:PORT and unix socket paths", () => {
  assert.deepEqual(parseManagementAddress("127.0.0.1:7505"), { kind: "tcp", host: "127.0.0.1", port: 7505 });
  assert.deepEqual(parseManagementAddress("[::1]:7505"), { kind: "tcp", host: "::1", port: 7505 });
  assert.deepEqual(parseManagementAddress("localhost:1"), { kind: "tcp", host: "localhost", port: 1 });
  assert.deepEqual(parseManagementAddress("/run/tsvpn/mgmt.sock"), {
    kind: "unix",
    path: "/run/tsvpn/mgmt.sock",
  });
  assert.deepEqual(parseManagementAddress("./m.sock"), { kind: "unix", path: "./m.sock" });
});

Deno.test("parseManagementAddress() rejects malformed addresses and bad ports in one line", () => {
  for (const bad of ["7505", "127.0.0.1", "::1:7505", "host:0", "host:70000", "", "a b:1"]) {
    assert.throws(() => parseManagementAddress(bad), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.ok(!e.message.includes("\n"));
      assert.match(e.message, /^Invalid management address/);
      return true;
    });
  }
});

Deno.test("parseManagementAddress() with listening refuses a non-loopback host and allows port 0", () => {
  for (
    const bad of ["0.0.0.0:7505", "192.0.2.1:7505", "[::]:7505", "example.com:7505", "[2001:db8::1]:7505"]
  ) {
    assert.throws(
      () => parseManagementAddress(bad, { listening: true }),
      /^RangeError: Refusing management address .* loopback only/,
    );
  }
  assert.equal(parseManagementAddress("127.1.2.3:9", { listening: true }).kind, "tcp");
  assert.equal(parseManagementAddress("[0:0:0:0:0:0:0:1]:9", { listening: true }).kind, "tcp");
  assert.equal(parseManagementAddress("192.0.2.1:7505").kind, "tcp");
  assert.deepEqual(parseManagementAddress("127.0.0.1:0", { listening: true }), {
    kind: "tcp",
    host: "127.0.0.1",
    port: 0,
  });
});

Deno.test("isLoopbackHost() knows 127.0.0.0/8, ::1 and localhost only", () => {
  assert.equal(isLoopbackHost("127.0.0.1"), true);
  assert.equal(isLoopbackHost("127.255.0.9"), true);
  assert.equal(isLoopbackHost("::1"), true);
  assert.equal(isLoopbackHost("localhost"), true);
  assert.equal(isLoopbackHost("128.0.0.1"), false);
  assert.equal(isLoopbackHost("::"), false);
  assert.equal(isLoopbackHost("127.0.0.256"), false);
  assert.equal(isLoopbackHost("localhost.example"), false);
});

Deno.test("formatManagementAddress() round-trips through parseManagementAddress()", () => {
  for (const text of ["127.0.0.1:7505", "[::1]:7505", "/tmp/x.sock"]) {
    assert.equal(formatManagementAddress(parseManagementAddress(text)), text);
  }
});
