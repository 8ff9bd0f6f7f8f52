/**
 * Underlay endpoints (ip:port) for the mesh's control plane: parsing and
 * formatting for control messages, and conversion to and from the flat
 * `EndpointSlots` rows the datapath sends to and receives from.
 *
 * Text forms: "192.0.2.7:1194" and "[2001:db8::7]:1194". Parsers throw
 * `SyntaxError` naming the text; they run on control messages, never per packet.
 * `isUsableCandidate` says whether an endpoint may be probed at all: never an
 * unspecified, loopback, multicast or broadcast address, never port 0.
 */

import {
  formatIpv6,
  formatNumericIp,
  ipv6FromBytes,
  ipv6ToBytes,
  type NumericIp,
  parseNumericIp,
} from "../addr/ip.ts";
import { ENDPOINT_ROW_BYTES, EndpointSlots, FAMILY_INET, FAMILY_INET6 } from "../device/datagram_socket.ts";

export interface Endpoint {
  readonly ip: NumericIp;
  readonly port: number;
}

/** Longest endpoint text accepted ("[" + 45 + "]:" + 5). */
export const MAX_ENDPOINT_TEXT = 53;

/** Parses "a.b.c.d:port" or "[v6]:port"; port 1..65535, no leading zeros. */
export function parseEndpoint(text: string): Endpoint {
  if (text.length > MAX_ENDPOINT_TEXT) {
    throw new SyntaxError(`Invalid endpoint "${text.slice(0, 60)}…": too long`);
  }
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]:");
    if (close < 0) throw new SyntaxError(`Invalid endpoint "${text}": expected [address]:port`);
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!host.includes(":")) throw new SyntaxError(`Invalid endpoint "${text}": brackets are for IPv6`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0 || text.indexOf(":") !== colon) {
      throw new SyntaxError(`Invalid endpoint "${text}": expected address:port (IPv6 in brackets)`);
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^[1-9][0-9]{0,4}$/.test(portText) || Number(portText) > 65535) {
    throw new SyntaxError(`Invalid endpoint "${text}": port must be 1..65535`);
  }
  let ip: NumericIp;
  try {
    ip = parseNumericIp(host);
  } catch {
    throw new SyntaxError(`Invalid endpoint "${text}": bad address`);
  }
  if ((ip.family === 4) === host.includes(":")) {
    throw new SyntaxError(`Invalid endpoint "${text}": bad address`);
  }
  return { ip, port: Number(portText) };
}

export function formatEndpoint(e: Endpoint): string {
  return e.ip.family === 4 ? `${formatNumericIp(e.ip)}:${e.port}` : `[${formatIpv6(e.ip.v6)}]:${e.port}`;
}

export function endpointEquals(a: Endpoint, b: Endpoint): boolean {
  if (a.port !== b.port || a.ip.family !== b.ip.family) return false;
  if (a.ip.family === 4) return a.ip.v4 === (b.ip as { v4: number }).v4;
  const x = a.ip.v6, y = (b.ip as { v6: Uint32Array }).v6;
  return x[0] === y[0] && x[1] === y[1] && x[2] === y[2] && x[3] === y[3];
}

/** A key for maps and sets of endpoints (control plane only). */
export function endpointKey(e: Endpoint): string {
  return formatEndpoint(e);
}

/** False for addresses no probe may go to: unspecified, loopback, multicast, IPv4 broadcast; port 0. */
export function isUsableCandidate(e: Endpoint): boolean {
  if (!(e.port >= 1 && e.port <= 65535)) return false;
  if (e.ip.family === 4) {
    const a = e.ip.v4 >>> 0;
    const top = a >>> 24;
    return top !== 0 && top !== 127 && (top & 0xf0) !== 0xe0 && a !== 0xffffffff;
  }
  const w = e.ip.v6;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && (w[3] === 0 || w[3] === 1)) return false; // :: and ::1
  if (w[0] >>> 24 === 0xff) return false; // multicast
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) {
    return isUsableCandidate({ ip: { family: 4, v4: w[3] }, port: e.port });
  }
  return true;
}

/** Writes `e` into row `row` of `slots`. */
export function writeEndpointRow(slots: EndpointSlots, row: number, e: Endpoint): void {
  if (e.ip.family === 4) slots.setIpv4(row, e.ip.v4, e.port);
  else slots.setIpv6(row, ipv6ToBytes(e.ip.v6), e.port);
}

/** Reads row `row` of `slots` as an Endpoint; null when the row is unset. Allocates: control plane only. */
export function readEndpointRow(slots: EndpointSlots, row: number): Endpoint | null {
  const fam = slots.family(row);
  if (fam === FAMILY_INET) return { ip: { family: 4, v4: slots.ipv4(row) }, port: slots.port(row) };
  if (fam === FAMILY_INET6) {
    return {
      ip: { family: 6, v6: ipv6FromBytes(slots.bytes, row * ENDPOINT_ROW_BYTES + 3) },
      port: slots.port(row),
    };
  }
  return null;
}

/** A one-row table holding `e`, for sends. */
export function endpointSlot(e: Endpoint): EndpointSlots {
  const s = new EndpointSlots(1);
  writeEndpointRow(s, 0, e);
  return s;
}
