/**
 * OpenVPN over TCP seen as a DatagramSocket, so the client's datapath runs
 * unchanged on proto tcp: every send becomes one length-prefixed frame on
 * the connection, every received frame one datagram from the server's
 * endpoint. `receiveBatch` resolves 0 when the connection ends; `ended` says
 * why. Frames are copied into a queue between the reader and the datapath
 * (TCP is the slow path; UDP uses ffi/udp.ts).
 */

import { FrameWriteQueue, MAX_QUEUED_WRITE_BYTES } from "../control/tcp_framing_io.ts";
import { FrameReassembler } from "../control/tcp_framing.ts";
import type { EndpointSlots } from "../device/datagram_socket.ts";
import { QueuedDatagramSocket } from "../device/queued_socket.ts";
import { closeQuietly } from "../device/socket_helpers.ts";

const MAX_QUEUED = 1024;

export class TcpPacketSocket extends QueuedDatagramSocket {
  readonly localPort: number;
  /** Why the connection ended, null while it is up. */
  ended: string | null = null;
  readonly #conn: Deno.TcpConn;
  readonly #writer: FrameWriteQueue;
  readonly #queue: Uint8Array[] = [];
  readonly #server: EndpointSlots;
  readonly #serverRow: number;
  readonly #onEnd: (reason: string) => void;
  #closed = false;

  /**
   * `server`/`serverRow`: the endpoint reported as every frame's source.
   * `onEnd` hears once why the connection ended (not after close()).
   */
  constructor(
    conn: Deno.TcpConn,
    server: EndpointSlots,
    serverRow: number,
    onEnd: (reason: string) => void = () => {},
  ) {
    super();
    this.#conn = conn;
    this.#onEnd = onEnd;
    this.#server = server;
    this.#serverRow = serverRow;
    this.localPort = (conn.localAddr as Deno.NetAddr).port;
    this.#writer = new FrameWriteQueue(conn, MAX_QUEUED_WRITE_BYTES, () => this.#end("TCP write failed"));
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const reassembler = new FrameReassembler();
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const read = await this.#conn.read(buf);
        if (read === null) {
          this.#end("server closed the TCP connection");
          return;
        }
        reassembler.feed(buf.subarray(0, read), (data, off, len) => {
          if (this.#queue.length < MAX_QUEUED) this.#queue.push(data.slice(off, off + len));
        });
        this.arrival.wake();
      }
    } catch (e) {
      this.#end(`TCP connection failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  /** Frames that arrived before the end are still delivered. */
  protected receiveEnded(): boolean {
    return this.#queue.length === 0 && (this.#closed || this.ended !== null);
  }

  protected hasQueued(): boolean {
    return this.#queue.length > 0;
  }

  drainInto(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    let n = 0;
    while (n < bufs.length && this.#queue.length > 0) {
      const frame = this.#queue.shift()!;
      const room = bufs[n].length - offset;
      bufs[n].set(frame.subarray(0, room), offset);
      // An oversized frame reports room + 1 bytes, so the datapath drops it as too big.
      sizes[n] = Math.min(frame.length, room + 1);
      from.copyRow(n, this.#server, this.#serverRow);
      n++;
    }
    return n;
  }

  send(buf: Uint8Array, offset: number, length: number, _to: EndpointSlots, _row: number): boolean {
    if (this.#closed || this.ended !== null) return false;
    // Copied into the queue's batch buffer: the caller may reuse buf at once.
    return this.#writer.queue(buf, offset, length);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.stop();
    closeQuietly(this.#conn);
    this.arrival.wake();
  }

  #end(reason: string): void {
    if (this.ended === null && !this.#closed) {
      this.ended = reason;
      this.#onEnd(reason);
    }
    this.arrival.wake();
  }
}
