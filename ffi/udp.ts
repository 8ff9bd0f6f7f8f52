/**
 * The UDP underlay on Linux: a nonblocking datagram socket driven through
 * recvmmsg(2)/sendmmsg(2), as a `DatagramSocket`.
 *
 * I/O model (the same as `tun.ts`): `receiveBatch` drains with one
 * synchronous recvmmsg(MSG_DONTWAIT) call; only when nothing is ready does it
 * await readiness once through a `Readiness` (poll(2) on Deno's blocking
 * thread pool over the socket and an eventfd). `close()` wakes a pending wait
 * at once and its `receiveBatch` resolves 0. `send` is one synchronous
 * sendto(2), `sendBatch` one sendmmsg(2) (more only to step over a datagram
 * the kernel refused).
 *
 * Memory: the mmsghdr, iovec and sockaddr arrays handed to the kernel are
 * allocated once per capacity (the largest batch seen) and hold raw pointers
 * into the caller's buffers. A slot's pointer is rewritten only when the
 * buffer or offset in that slot changes, so a caller that reuses one set of
 * buffers (a ring) makes no allocation per call or per datagram; one that
 * passes new buffers every call pays a pointer object and a BigInt per new
 * buffer. The socket keeps each buffer it points into alive until the slot is
 * reused or the socket is closed. Buffers must not be detached, transferred
 * or shrunk while the socket uses them.
 *
 * Addresses: an AF_INET6 socket is dual-stack (IPV6_V6ONLY off): IPv4 peers
 * arrive as v4-mapped sockaddrs and are reported as FAMILY_INET rows, and
 * FAMILY_INET rows are sent as v4-mapped. An AF_INET socket cannot reach
 * FAMILY_INET6 rows (counted in `sendErrors`). IPv6 scope ids are not kept.
 *
 * Where the parts live: `udp_socket.ts` (the socket: receive wait, state,
 * options), `udp_recv_batch.ts` (recvmmsg), `udp_send_batch.ts` (sendto,
 * sendmmsg), `udp_gso_groups.ts` (UDP_SEGMENT grouping), `mmsghdr_table.ts`
 * (the kernel-facing arrays) and `sockaddr.ts` (endpoint rows ⇄ sockaddr).
 */

import {
  AF_INET6,
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EPERM,
  errno,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  libc,
  type LibcSymbols,
  osError,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
} from "./libc.ts";
import { ipToBytes } from "./ip_bytes.ts";
import { Readiness } from "./readiness.ts";
import { SOCKADDR_IN6_BYTES, SOCKADDR_IN_BYTES, SOCKADDR_SLOT_BYTES } from "./sockaddr.ts";
import { UdpSocket } from "./udp_socket.ts";

export { UdpSocket };

export interface UdpOptions {
  /** IPv4 or IPv6 literal to bind; "0.0.0.0" for all IPv4, "::" for all IPv4 and IPv6. */
  host: string;
  /** Port to bind; 0 lets the kernel pick (see `localPort`). */
  port: number;
  /** SO_REUSEPORT: several sockets (all with this set) share the port; the kernel spreads flows. */
  reusePort?: boolean;
  /** Kernel receive buffer; SO_RCVBUFFORCE when privileged, else capped by net.core.rmem_max. */
  recvBufferBytes?: number;
  /** Kernel send buffer; SO_SNDBUFFORCE when privileged, else capped by net.core.wmem_max. */
  sendBufferBytes?: number;
  /**
   * UDP segmentation offload for `sendBatch` (UDP_SEGMENT, Linux 4.18+): runs
   * of equal-size datagrams to one destination go to the kernel as one
   * message, which it splits (in the NIC, or once in software), instead of
   * one trip through the stack each. Receivers see ordinary datagrams. Sizes
   * the kernel refuses to group (datagrams needing IP fragmentation) are sent
   * one by one from then on. @default false
   */
  gso?: boolean;
}

const MAX_BUFFER_BYTES = 0x7fffffff;

/**
 * Opens a nonblocking UDP socket bound to `host:port`. Throws an `OsError`
 * naming the call ("bind 127.0.0.1:1194: Address already in use (…)") when
 * the kernel refuses, a TypeError/RangeError for bad options.
 */
export function openUdp(options: UdpOptions): UdpSocket {
  const { host, port } = options;
  const ip = typeof host === "string" ? ipToBytes(host) : null;
  if (ip === null) {
    throw new TypeError(`openUdp: host must be an IPv4 or IPv6 address, got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`openUdp: port must be an integer in 0..65535, got ${port}`);
  }
  for (const key of ["recvBufferBytes", "sendBufferBytes"] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > MAX_BUFFER_BYTES)) {
      throw new RangeError(`openUdp: ${key} must be a positive integer below 2^31, got ${v}`);
    }
  }
  const family = ip.family;
  const label = family === AF_INET6 ? `[${host}]:${port}` : `${host}:${port}`;
  const lib = libc();
  const fd = lib.socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw osError(`socket ${family === AF_INET6 ? "AF_INET6" : "AF_INET"} SOCK_DGRAM`);
  try {
    if (family === AF_INET6) setIntOption(lib, fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, "setsockopt IPV6_V6ONLY");
    if (options.reusePort) setIntOption(lib, fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt SO_REUSEPORT");
    if (options.recvBufferBytes !== undefined) {
      setBufferSize(lib, fd, SO_RCVBUFFORCE, SO_RCVBUF, options.recvBufferBytes, "SO_RCVBUF");
    }
    if (options.sendBufferBytes !== undefined) {
      setBufferSize(lib, fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBufferBytes, "SO_SNDBUF");
    }
    const addr = new Uint8Array(SOCKADDR_SLOT_BYTES);
    const view = new DataView(addr.buffer);
    view.setUint16(0, family, true);
    view.setUint16(2, port, false);
    addr.set(ip.bytes, family === AF_INET6 ? 8 : 4);
    const len = family === AF_INET6 ? SOCKADDR_IN6_BYTES : SOCKADDR_IN_BYTES;
    if (lib.bind(fd, addr, len) < 0) throw osError(`bind ${label}`, errno(), bindHint(errno(), options));
    const lenBuf = new Uint32Array([SOCKADDR_SLOT_BYTES]);
    if (lib.getsockname(fd, addr, lenBuf) < 0) throw osError(`getsockname ${label}`);
    const localPort = view.getUint16(2, false);
    return new UdpSocket(lib, fd, new Readiness(lib, fd), family, host, localPort, options.gso ?? false);
  } catch (e) {
    lib.close(fd);
    throw e;
  }
}

function bindHint(code: number, options: UdpOptions): string | undefined {
  if (code === EADDRINUSE) {
    return options.reusePort
      ? "a socket without SO_REUSEPORT, or of another user, holds this port"
      : "another socket is bound to this port; sockets share a port only when all set reusePort";
  }
  if (code === EADDRNOTAVAIL) return "the address is not assigned to any interface in this namespace";
  if (code === EACCES || code === EPERM) return "ports below 1024 need root or CAP_NET_BIND_SERVICE";
  return undefined;
}

function setIntOption(
  lib: LibcSymbols,
  fd: number,
  level: number,
  name: number,
  value: number,
  what: string,
) {
  const v = new Int32Array([value]);
  if (lib.setsockopt(fd, level, name, v, 4) < 0) throw osError(what);
}

/** The privileged *FORCE option first (ignores the sysctl cap), the plain one if that is refused. */
function setBufferSize(
  lib: LibcSymbols,
  fd: number,
  force: number,
  plain: number,
  bytes: number,
  what: string,
) {
  const v = new Int32Array([bytes]);
  if (lib.setsockopt(fd, SOL_SOCKET, force, v, 4) === 0) return;
  const e = errno();
  if (e !== EPERM && e !== EACCES) throw osError(`setsockopt ${what}FORCE ${bytes}`, e);
  if (lib.setsockopt(fd, SOL_SOCKET, plain, v, 4) < 0) throw osError(`setsockopt ${what} ${bytes}`);
}
