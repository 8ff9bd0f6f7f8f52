/**
 * `NetConfig` over rtnetlink: an AF_NETLINK/NETLINK_ROUTE socket driven
 * through libc, no `ip` binary. Acts on the network namespace of the calling
 * process (root needed, or CAP_NET_ADMIN there, for changes).
 *
 * Every request carries NLM_F_ACK and waits for its NLMSG_ERROR (or, for a
 * dump, NLMSG_DONE). The kernel answers rtnetlink requests synchronously
 * while send(2) runs, so the reply is read with blocking recv(2) bounded by
 * SO_RCVTIMEO; methods are async only to fit the interface. Kernel errors
 * become `OsError`s: "<operation>: <errno text>[ (<kernel extended-ack text>)]",
 * e.g. "add route 10.9.0.0/24 via 10.1.1.1: Network is unreachable (Nexthop has invalid gateway)".
 * Message layouts live in `netlink_message.ts` (nlmsghdr, errors, dumps),
 * `netlink_attr.ts` and `netlink_link.ts` / `netlink_addr.ts` / `netlink_route.ts`.
 */

import type { AddressSpec, LinkInfo, NetConfig, RouteInfo, RouteSpec } from "../src/device/net_config.ts";
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_UNSPEC,
  EACCES,
  EADDRNOTAVAIL,
  EAGAIN,
  EINTR,
  EPERM,
  errno,
  ESRCH,
  libc,
  type LibcSymbols,
  OsError,
  osError,
  PRIVILEGE_HINT,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
} from "./libc.ts";
import { validateIfName } from "./if_name.ts";
import { type IpBytes, ipToBytes, parsePrefixText } from "./ip_bytes.ts";
import { decodeAddr, encodeAddr } from "./netlink_addr.ts";
import { decodeLink, encodeGetLink, encodeSetLink, IFF_UP } from "./netlink_link.ts";
import {
  decodeDone,
  decodeError,
  encodeDump,
  type NlMessage,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  splitMessages,
} from "./netlink_message.ts";
import {
  decodeRoute,
  encodeRoute,
  encodeRouteGet,
  routeDstText,
  type RouteMessage,
} from "./netlink_route.ts";

const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const REPLY_TIMEOUT_S = 5;
const RX_BUFFER = 65536;

/** Opens an rtnetlink socket in the current network namespace. Needs --allow-ffi. */
export function openNetlink(): Netlink {
  const lib = libc();
  const fd = lib.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw osError("netlink socket");
  try {
    const one = new Int32Array([1]);
    // Best effort: extended-ack text and capped echoes exist since Linux 4.12/4.3.
    lib.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4);
    lib.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4);
    lib.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, new Int32Array([1 << 20]), 4);
    const timeval = new BigInt64Array([BigInt(REPLY_TIMEOUT_S), 0n]);
    if (lib.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16) < 0) throw osError("netlink SO_RCVTIMEO");
    if (lib.bind(fd, sockaddrNl(), 12) < 0) throw osError("netlink bind");
  } catch (e) {
    lib.close(fd);
    throw e;
  }
  return new Netlink(lib, fd);
}

/** struct sockaddr_nl for the kernel (pid 0, no groups). */
function sockaddrNl(): Uint8Array {
  const sa = new Uint8Array(12);
  new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
  return sa;
}

type OnMessage = (buf: Uint8Array, msg: NlMessage) => void;

export class Netlink implements NetConfig {
  #lib: LibcSymbols;
  #fd: number;
  #seq = Math.floor(Math.random() * 0x7fff_0000);
  #rx = new Uint8Array(RX_BUFFER);
  #kernel = sockaddrNl();

  constructor(lib: LibcSymbols, fd: number) {
    this.#lib = lib;
    this.#fd = fd;
  }

  linkByName(name: string): Promise<LinkInfo> {
    return this.#run(() => this.#linkByName(name, `link ${name}`));
  }

  setLinkUp(name: string, up: boolean): Promise<void> {
    return this.#run(() => {
      validateIfName(name);
      this.#request(encodeSetLink(this.#next(), { name, up }), `set link ${name} ${up ? "up" : "down"}`);
    });
  }

  setMtu(name: string, mtu: number): Promise<void> {
    return this.#run(() => {
      validateIfName(name);
      if (!Number.isInteger(mtu) || mtu < 0 || mtu > 0xffff_ffff) {
        throw new RangeError(`set MTU ${mtu} on ${name}: not a valid MTU`);
      }
      this.#request(encodeSetLink(this.#next(), { name, mtu }), `set MTU ${mtu} on ${name}`);
    });
  }

  addAddress(spec: AddressSpec): Promise<void> {
    return this.#run(() => this.#address("add", spec));
  }

  delAddress(spec: AddressSpec): Promise<void> {
    return this.#run(() => this.#address("del", spec));
  }

  listAddresses(dev?: string): Promise<AddressSpec[]> {
    return this.#run(() => {
      const names = this.#linkNames();
      const only = dev === undefined ? -1 : this.#linkByName(dev, `list addresses dev ${dev}`).index;
      const out: AddressSpec[] = [];
      this.#request(encodeDump(this.#next(), RTM_GETADDR, AF_UNSPEC), "list addresses", (buf, msg) => {
        if (msg.type !== RTM_NEWADDR) return;
        const a = decodeAddr(buf, msg);
        if (a === null || (only >= 0 && a.index !== only)) return;
        const address = a.local ?? a.address;
        if (address === undefined) return;
        const spec: AddressSpec = {
          dev: names.get(a.index) ?? `#${a.index}`,
          address,
          prefixLen: a.prefixLen,
        };
        if (a.local !== undefined && a.address !== undefined && a.address !== a.local) spec.peer = a.address;
        out.push(spec);
      });
      return out;
    });
  }

  addRoute(spec: RouteSpec): Promise<void> {
    return this.#run(() => this.#route("add", spec));
  }

  delRoute(spec: RouteSpec): Promise<void> {
    return this.#run(() => this.#route("del", spec));
  }

  listRoutes(family: 4 | 6): Promise<RouteInfo[]> {
    return this.#run(() => {
      if (family !== 4 && family !== 6) {
        throw new TypeError(`list routes: family must be 4 or 6, got ${family}`);
      }
      const names = this.#linkNames();
      const af = family === 4 ? AF_INET : AF_INET6;
      const out: RouteInfo[] = [];
      this.#request(encodeDump(this.#next(), RTM_GETROUTE, af), `list IPv${family} routes`, (buf, msg) => {
        if (msg.type !== RTM_NEWROUTE) return;
        const r = decodeRoute(buf, msg);
        if (r !== null && r.family === af) out.push(routeInfo(r, names));
      });
      return out;
    });
  }

  routeGet(address: string): Promise<RouteInfo> {
    return this.#run(() => {
      const what = `route get ${address}`;
      const dst = ipToBytes(address);
      if (dst === null) throw new Error(`${what}: not an IP address`);
      let found: RouteMessage | null = null;
      this.#request(encodeRouteGet(this.#next(), dst), what, (buf, msg) => {
        if (msg.type === RTM_NEWROUTE) found = decodeRoute(buf, msg);
      });
      if (found === null) throw new Error(`${what}: the kernel sent no route`);
      return routeInfo(found, this.#linkNames());
    });
  }

  close(): void {
    if (this.#fd < 0) return;
    this.#lib.close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // -- internals --

  /** Runs synchronous work as a Promise so that thrown errors become rejections. */
  #run<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #next(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #linkByName(name: string, what: string): LinkInfo {
    validateIfName(name);
    let link: LinkInfo | null = null;
    this.#request(encodeGetLink(this.#next(), name), what, (buf, msg) => {
      if (msg.type !== RTM_NEWLINK) return;
      const l = decodeLink(buf, msg);
      if (l !== null) link = { index: l.index, name: l.name, mtu: l.mtu, up: (l.flags & IFF_UP) !== 0 };
    });
    if (link === null) throw new Error(`${what}: the kernel sent no link`);
    return link;
  }

  #linkNames(): Map<number, string> {
    const names = new Map<number, string>();
    this.#request(encodeDump(this.#next(), RTM_GETLINK), "list links", (buf, msg) => {
      if (msg.type !== RTM_NEWLINK) return;
      const l = decodeLink(buf, msg);
      if (l !== null) names.set(l.index, l.name);
    });
    return names;
  }

  #address(op: "add" | "del", spec: AddressSpec): void {
    const what = `${op} address ${spec.address}/${spec.prefixLen}${
      spec.peer ? ` peer ${spec.peer}` : ""
    } dev ${spec.dev}`;
    const local = ipToBytes(spec.address);
    if (local === null) throw new Error(`${what}: "${spec.address}" is not an IP address`);
    const max = local.family === AF_INET ? 32 : 128;
    if (!Number.isInteger(spec.prefixLen) || spec.prefixLen < 0 || spec.prefixLen > max) {
      throw new Error(`${what}: prefix length must be 0..${max}`);
    }
    let peer: IpBytes | undefined;
    if (spec.peer !== undefined) {
      const p = ipToBytes(spec.peer);
      if (p === null || p.family !== local.family) {
        throw new Error(`${what}: peer "${spec.peer}" is not an address of the same family`);
      }
      peer = p;
    }
    const index = this.#linkByName(spec.dev, what).index;
    const hint = op === "del" ? { [EADDRNOTAVAIL]: "no such address" } : undefined;
    this.#request(
      encodeAddr(this.#next(), op, { index, local, prefixLen: spec.prefixLen, peer }),
      what,
      undefined,
      hint,
    );
  }

  #route(op: "add" | "del", spec: RouteSpec): void {
    const what = describeRoute(op, spec);
    const dst = parsePrefixText(spec.dst);
    if (dst === null) throw new Error(`${what}: "${spec.dst}" is not a prefix`);
    const family = dst.family;
    const same = (text: string, role: string): IpBytes => {
      const ip = ipToBytes(text);
      if (ip === null || ip.family !== family) {
        throw new Error(`${what}: ${role} "${text}" is not an address of the destination's family`);
      }
      return ip;
    };
    const gateway = spec.gateway !== undefined ? same(spec.gateway, "gateway") : undefined;
    const prefsrc = spec.src !== undefined ? same(spec.src, "source") : undefined;
    if (
      spec.metric !== undefined &&
      (!Number.isInteger(spec.metric) || spec.metric < 0 || spec.metric > 0xffff_ffff)
    ) {
      throw new Error(`${what}: metric must be an unsigned 32-bit integer`);
    }
    const oif = spec.dev !== undefined ? this.#linkByName(spec.dev, what).index : undefined;
    const hint = op === "del" ? { [ESRCH]: "no such route" } : undefined;
    this.#request(
      encodeRoute(this.#next(), op, { dst, gateway, oif, metric: spec.metric, prefsrc }),
      what,
      undefined,
      hint,
    );
  }

  /**
   * Sends one request and reads until its ack, error or NLMSG_DONE, handing
   * every other message of this sequence number to `onMessage`.
   */
  #request(req: Uint8Array, what: string, onMessage?: OnMessage, hints?: Record<number, string>): void {
    const lib = this.#lib;
    const fd = this.#fd;
    if (fd < 0) throw new Error(`${what}: netlink socket is closed`);
    const seq = new DataView(req.buffer, req.byteOffset).getUint32(8, true);
    for (;;) {
      const sent = lib.sendto(fd, req, req.length, 0, this.#kernel, 12);
      if (sent >= 0) break;
      const e = errno();
      if (e !== EINTR) throw osError(`${what}: netlink send`, e);
    }
    const rx = this.#rx;
    for (;;) {
      const n = lib.recv(fd, rx, rx.length, 0);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) throw new Error(`${what}: no netlink reply within ${REPLY_TIMEOUT_S} s`);
        throw osError(`${what}: netlink receive`, e);
      }
      for (const msg of splitMessages(rx, n)) {
        if (msg.seq !== seq || msg.type === NLMSG_NOOP) continue;
        if (msg.type === NLMSG_ERROR) {
          const err = decodeError(rx, msg);
          if (err === null) throw new Error(`${what}: malformed netlink error message`);
          if (err.errno === 0) return;
          throw kernelError(what, err.errno, err.message, hints);
        }
        if (msg.type === NLMSG_DONE) {
          const code = decodeDone(rx, msg);
          if (code !== 0) throw kernelError(what, code, undefined, hints);
          return;
        }
        onMessage?.(rx, msg);
      }
    }
  }
}

function kernelError(what: string, code: number, extack?: string, hints?: Record<number, string>): OsError {
  const notes: string[] = [];
  if (extack) notes.push(extack);
  if (hints?.[code]) notes.push(hints[code]);
  if (code === EPERM || code === EACCES) notes.push(PRIVILEGE_HINT);
  return new OsError(what, code, notes.length > 0 ? notes.join("; ") : undefined);
}

/** "add route 10.9.0.0/24 via 10.1.1.1 dev tun0 metric 5 src 10.8.0.1", for messages. */
export function describeRoute(op: string, spec: RouteSpec): string {
  let s = `${op} route ${spec.dst}`;
  if (spec.gateway !== undefined) s += ` via ${spec.gateway}`;
  if (spec.dev !== undefined) s += ` dev ${spec.dev}`;
  if (spec.metric !== undefined) s += ` metric ${spec.metric}`;
  if (spec.src !== undefined) s += ` src ${spec.src}`;
  return s;
}

function routeInfo(r: RouteMessage, names: Map<number, string>): RouteInfo {
  const info: RouteInfo = {
    family: r.family === AF_INET6 ? 6 : 4,
    dst: routeDstText(r),
    table: r.table,
    protocol: r.protocol,
  };
  if (r.gateway !== undefined) info.gateway = r.gateway;
  if (r.oif !== undefined) info.dev = names.get(r.oif) ?? `#${r.oif}`;
  if (r.priority !== undefined) info.metric = r.priority;
  if (r.prefsrc !== undefined) info.src = r.prefsrc;
  return info;
}
