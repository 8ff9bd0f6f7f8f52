/**
 * Reaching one remote: name resolution, then a UDP socket (ffi/udp.ts) or a
 * TCP connection, each failure as one sentence naming the remote and the
 * reason (so the log says "Cannot resolve vpn.example.org: ..." or
 * "Connection to 192.0.2.1:1194 refused", not a stack trace).
 */

import { lookup } from "node:dns/promises";
import { openUdp } from "../../ffi/udp.ts";
import { parseIp, parseIpv4 } from "../addr/ip.ts";
import type { Remote } from "../config/schema.ts";
import { type DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import { TcpPacketSocket } from "./tcp_packet_socket.ts";

export type Resolver = (host: string) => Promise<string[]>;

/** getaddrinfo (honours /etc/hosts), IPv4 first. */
export const systemResolver: Resolver = async (host) => {
  const all = await lookup(host, { all: true });
  return all.sort((a, b) => a.family - b.family).map((a) => a.address);
};

export class DialError extends Error {}

/** The address to dial for `host`: the literal itself, or the first resolved address. */
export async function resolveRemote(host: string, resolver: Resolver): Promise<string> {
  const literal = parseIp(host);
  if (literal) return literal.text;
  let addrs: string[];
  try {
    addrs = await resolver(host);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOTFOUND" ? "no such host" : (e as Error).message.split("\n")[0];
    throw new DialError(`Cannot resolve ${host}: ${why}`);
  }
  const first = addrs.map((a) => parseIp(a)).find((a) => a !== null);
  if (!first) throw new DialError(`Cannot resolve ${host}: no addresses`);
  return first.text;
}

/** An endpoint table with the server in row 0. */
export function serverEndpoint(address: string, port: number): EndpointSlots {
  const slots = new EndpointSlots(1);
  const ip = parseIp(address);
  if (!ip) throw new DialError(`Not an IP address: ${address}`);
  if (ip.family === 4) slots.setIpv4(0, parseIpv4(ip.text), port);
  else slots.setIpv6(0, ip.bytes, port);
  return slots;
}

export function formatRemote(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Opens the transport to `address`: a UDP socket on an ephemeral port, or a
 * TCP connection (within timeoutMs). `onEnd` hears when a TCP connection ends.
 */
export async function openTransport(
  remote: Remote,
  address: string,
  endpoint: EndpointSlots,
  timeoutMs: number,
  onEnd: (reason: string) => void,
): Promise<DatagramSocket> {
  const where = formatRemote(address, remote.port);
  if (remote.proto === "udp") {
    try {
      return openUdp({
        host: address.includes(":") ? "::" : "0.0.0.0",
        port: 0,
        recvBufferBytes: 4 << 20,
        sendBufferBytes: 4 << 20,
        gso: true,
      });
    } catch (e) {
      throw new DialError(`Cannot open a UDP socket for ${where}: ${(e as Error).message}`);
    }
  }
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const conn = await Deno.connect({
      transport: "tcp",
      hostname: address,
      port: remote.port,
      signal: ac.signal,
    });
    conn.setNoDelay(true);
    return new TcpPacketSocket(conn, endpoint, 0, onEnd);
  } catch (e) {
    if (ac.signal.aborted) {
      throw new DialError(`Connection to ${where} timed out after ${timeoutMs / 1000} s`);
    }
    if (e instanceof Deno.errors.ConnectionRefused) throw new DialError(`Connection to ${where} refused`);
    throw new DialError(`Cannot connect to ${where}: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    clearTimeout(timer);
  }
}
