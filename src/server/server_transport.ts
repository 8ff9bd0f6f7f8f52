/**
 * The server's underlay: the listening socket (UDP through an injected
 * opener, by default ffi/udp.ts; or framed TCP, tcp_socket.ts) and the links
 * the control listener sees on it. A link is a UDP endpoint ("addr:port") or
 * a TCP connection ("tcp#ID"); a link that carries a session keeps one reply
 * function that sends to it, so control packets need no per-packet closure.
 */

import { openUdp } from "../../ffi/udp.ts";
import type { ListenConfig } from "../config/schema.ts";
import { VERDICT_OK } from "../control/drop_counters.ts";
import type { ControlListener, ReplyFn, TransportKind } from "../control/listener.ts";
import { type DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import { TcpServerSocket } from "./tcp_socket.ts";

/**
 * Kernel UDP buffers of the listening socket. The default (~208 KiB, about 90
 * full-size datagrams) overflowed under a single TCP stream whenever the
 * process was descheduled for a few milliseconds (UdpRcvbufErrors, then TCP
 * backing off); 4 MiB rides out such gaps. Privileged: SO_RCVBUFFORCE.
 */
const UDP_BUFFER_BYTES = 4 << 20;
/**
 * The receive side is larger: under a junk flood the queue is mostly junk,
 * and the kernel charges each small datagram ~930 bytes (measured: 8 MiB, the
 * doubled 4 MiB, held 8 986 junk datagrams, 90 ms at 100 000/s). A server
 * descheduled that long on a busy host then lost clients' datagrams with the
 * junk (docs/reliability.md, "Junk flood"). 16 MiB (32 MiB charged) holds
 * ~36 000, 360 ms; it costs memory only while the queue is full, and a full
 * queue of junk drains in ~40 ms at ~1 µs a datagram.
 */
const UDP_RECEIVE_BUFFER_BYTES = 16 << 20;

/** Reply functions kept at most; past it the table starts over (sessions keep theirs). */
export const MAX_REPLY_LINKS = 8192;
/**
 * Links kept beyond twice the sessions before those no session uses are dropped: without it, every ended
 * session and every endpoint a client floated away from left its reply until the table held 8192.
 */
const IDLE_REPLY_SLACK = 16;

/** Opens the UDP listening socket on `listen.host`:`listen.port` (0: any free port). */
export type OpenUdpSocket = (listen: { host: string; port: number }) => DatagramSocket;

/** The real UDP socket: batched recvmmsg/sendmmsg, UDP_SEGMENT, 16 MiB receive and 4 MiB send buffers. */
export const openUdpListener: OpenUdpSocket = (listen) =>
  openUdp({
    host: listen.host,
    port: listen.port,
    recvBufferBytes: UDP_RECEIVE_BUFFER_BYTES,
    sendBufferBytes: UDP_BUFFER_BYTES,
    gso: true,
  });

export interface ServerTransportOptions {
  listen: ListenConfig;
  /** Receives the control packets and learns when TCP links close. */
  listener: ControlListener;
  /** TCP connections allowed at once. */
  maxConnections: number;
  /** @default openUdpListener */
  openUdp?: OpenUdpSocket;
}

export class ServerTransport {
  readonly socket: DatagramSocket;
  readonly #tcp: TcpServerSocket | null;
  readonly #listen: ListenConfig;
  readonly #listener: ControlListener;
  readonly #replies = new Map<string, ReplyFn>();
  /** The endpoint of the control packet being handled, while it is handled. */
  #source: { from: EndpointSlots; row: number } | null = null;
  #closed = false;

  constructor(o: ServerTransportOptions) {
    this.#listen = o.listen;
    this.#listener = o.listener;
    if (o.listen.proto === "tcp") {
      this.#tcp = new TcpServerSocket({
        hostname: o.listen.host,
        port: o.listen.port,
        onClose: (id) => o.listener.linkClosed(`tcp#${id}`, "connection closed"),
        // Idle means "carries no session", not "quiet": keepalive may be off.
        hasSession: (id) => o.listener.sessionsOnLink(`tcp#${id}`) > 0,
        maxConnections: o.maxConnections,
      });
      this.socket = this.#tcp;
    } else {
      this.#tcp = null;
      this.socket = (o.openUdp ?? openUdpListener)(o.listen);
    }
  }

  /** "udp:0.0.0.0:1194", with the bound port. */
  describe(): string {
    const { proto, host } = this.#listen;
    const port = this.socket.localPort;
    return `${proto}:${host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`}`;
  }

  /**
   * Hands one control packet the datapath received (`from` row `row`) to the
   * listener; false when it was dropped (counted by reason), true when the
   * listener kept it (a session's packet, a stranger's answered reset).
   */
  handleControl(buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number): boolean {
    // Junk (most random datagrams have no valid opcode) is refused before any per-source work below.
    if (this.#listener.screen(buf, off, len) !== VERDICT_OK) return false;
    let linkKey: string;
    let remote: string;
    let transport: TransportKind;
    if (this.#tcp) {
      const id = TcpServerSocket.connectionOf(from, row);
      linkKey = `tcp#${id}`;
      remote = this.#tcp.remoteOf(id);
      transport = "tcp";
    } else {
      linkKey = from.format(row);
      remote = linkKey;
      transport = "udp";
    }
    const known = this.#replies.has(linkKey);
    const reply = this.#replyFor(linkKey, from, row);
    this.#source = { from, row };
    try {
      return this.#listener.handlePacket(transport, linkKey, remote, reply, buf, off, len) === VERDICT_OK;
    } finally {
      this.#source = null;
      // A source that got only a stateless answer (or nothing) leaves nothing behind.
      if (!known && this.#listener.sessionsOnLink(linkKey) === 0) this.#replies.delete(linkKey);
    }
  }

  /** The endpoint of the control packet being handled, copied (all zero outside handleControl). */
  sourceEndpoint(): EndpointSlots {
    const endpoint = new EndpointSlots(1);
    if (this.#source) endpoint.copyRow(0, this.#source.from, this.#source.row);
    return endpoint;
  }

  /**
   * Moves control session `controlPeerId` to the endpoint its data channel
   * floated to (`endpoints` row `row`); returns that endpoint as text.
   */
  float(controlPeerId: number, endpoints: EndpointSlots, row: number): string {
    const linkKey = endpoints.format(row);
    const reply = this.#replyFor(linkKey, endpoints, row);
    this.#listener.float(controlPeerId, linkKey, linkKey, reply);
    return linkKey;
  }

  /** Links (UDP endpoints, TCP connections) with a reply function kept. */
  get replyLinks(): number {
    return this.#replies.size;
  }

  /** Open TCP connections (0 over UDP). */
  get tcpConnections(): number {
    return this.#tcp?.connections ?? 0;
  }

  /** TCP connection counters (none over UDP). */
  statRecord(): Record<string, number> {
    return this.#tcp?.statRecord() ?? {};
  }

  /** Closes the socket; replies still queued by sessions are dropped from now on. */
  close(): void {
    this.#closed = true;
    this.socket.close();
  }

  #replyFor(linkKey: string, from: EndpointSlots, row: number): ReplyFn {
    let reply = this.#replies.get(linkKey);
    if (!reply) {
      if (this.#replies.size > 2 * this.#listener.sessionCount + IDLE_REPLY_SLACK) this.#dropIdleReplies();
      if (this.#replies.size > MAX_REPLY_LINKS) this.#replies.clear();
      const slots = new EndpointSlots(1);
      slots.copyRow(0, from, row);
      reply = (p) => {
        if (!this.#closed) this.socket.send(p, 0, p.length, slots, 0);
      };
      this.#replies.set(linkKey, reply);
    }
    return reply;
  }

  /** Forgets the links no session uses any more (sessions ended, endpoints floated away from). */
  #dropIdleReplies(): void {
    for (const linkKey of this.#replies.keys()) {
      if (this.#listener.sessionsOnLink(linkKey) === 0) this.#replies.delete(linkKey);
    }
  }
}
