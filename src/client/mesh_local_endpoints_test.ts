import assert from "node:assert/strict";
import { formatEndpoint } from "../mesh/endpoint.ts";
import { MAX_LOCAL_ENDPOINTS } from "../mesh/messages.ts";
import { type HostInterface, localMeshEndpoints } from "./mesh_local_endpoints.ts";

const HOST: HostInterface[] = [
  { name: "lo", family: "IPv4", address: "127.0.0.1" },
  { name: "lo", family: "IPv6", address: "::1" },
  { name: "eth0", family: "IPv4", address: "192.168.1.20" },
  { name: "eth0", family: "IPv6", address: "fe80::1" },
  { name: "eth0", family: "IPv6", address: "2001:db8::20" },
  { name: "tun0", family: "IPv4", address: "10.8.0.2" },
];

Deno.test("localMeshEndpoints reports the host's addresses with the UDP port, not loopback, link-local or the tunnel", () => {
  const endpoints = localMeshEndpoints(HOST, 41000, "tun0").map(formatEndpoint);
  assert.deepEqual(endpoints, ["192.168.1.20:41000", "[2001:db8::20]:41000"]);
});

Deno.test("localMeshEndpoints reports nothing without a port and at most MAX_LOCAL_ENDPOINTS", () => {
  assert.deepEqual(localMeshEndpoints(HOST, 0, "tun0"), []);
  const many = Array.from(
    { length: 20 },
    (_, i) => ({ name: `eth${i}`, family: "IPv4" as const, address: `10.0.${i}.1` }),
  );
  assert.equal(localMeshEndpoints(many, 1194, "tun0").length, MAX_LOCAL_ENDPOINTS);
});
