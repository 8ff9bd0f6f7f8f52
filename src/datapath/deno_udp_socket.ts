/**
 * TEMPORARY DatagramSocket over Deno.listenDatagram (needs --unstable-net),
 * until ffi/udp.ts (recvmmsg/sendmmsg) lands; then replace its uses with
 * openUdp. It is correct but not allocation-free: Deno's datagram API
 * resolves one datagram per await and needs an address object and a copy of
 * the bytes per send (the send completes after the caller reuses its slot).
 */

import {
  type DatagramSocket,
  ENDPOINT_ROW_BYTES,
  type EndpointSlots,
  FAMILY_INET,
  FAMILY_INET6,
} from "../device/datagram_socket.ts";
import { formatIpv6, ipv6FromBytes, ipv6ToBytes, parseIpv4, parseIpv6 } from "../addr/ip.ts";

export class DenoUdpSocket implements DatagramSocket {
  readonly localPort: number;
  readonly #conn: Deno.DatagramConn;
  #closed = false;

  constructor(conn: Deno.DatagramConn) {
    this.#conn = conn;
    this.localPort = (conn.addr as Deno.NetAddr).port;
  }

  static listen(hostname: string, port: number): DenoUdpSocket {
    return new DenoUdpSocket(Deno.listenDatagram({ transport: "udp", hostname, port }));
  }

  async receiveBatch(
    bufs: Uint8Array[],
    sizes: Int32Array,
    from: EndpointSlots,
    offset: number,
  ): Promise<number> {
    if (this.#closed || bufs.length === 0) return 0;
    let got: [Uint8Array, Deno.Addr];
    try {
      got = await this.#conn.receive(bufs[0].subarray(offset));
    } catch (e) {
      if (this.#closed) return 0;
      throw e;
    }
    const [data, addr] = got;
    const a = addr as Deno.NetAddr;
    if (data.buffer !== bufs[0].buffer || data.byteOffset !== bufs[0].byteOffset + offset) {
      bufs[0].set(data.subarray(0, bufs[0].length - offset), offset);
    }
    sizes[0] = data.length;
    if (a.hostname.includes(":")) {
      const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a.hostname);
      if (v4mapped) from.setIpv4(0, parseIpv4(v4mapped[1]), a.port);
      else from.setIpv6(0, ipv6ToBytes(parseIpv6(a.hostname)), a.port);
    } else {
      from.setIpv4(0, parseIpv4(a.hostname), a.port);
    }
    return 1;
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    if (this.#closed) return false;
    const fam = to.family(row);
    let hostname: string;
    if (fam === FAMILY_INET) {
      const a = to.ipv4(row);
      hostname = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
    } else if (fam === FAMILY_INET6) {
      hostname = formatIpv6(ipv6FromBytes(to.bytes, row * ENDPOINT_ROW_BYTES + 3));
    } else {
      return false;
    }
    const copy = buf.slice(offset, offset + length);
    this.#conn.send(copy, { transport: "udp", hostname, port: to.port(row) }).catch(() => {});
    return true;
  }

  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    let n = 0;
    for (let i = 0; i < count; i++) if (this.send(bufs[i], offsets[i], sizes[i], to, rows[i])) n++;
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
