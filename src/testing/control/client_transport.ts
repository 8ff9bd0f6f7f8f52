/**
 * Test support (tests/interop/, src/control/live_fuzz_test.ts; the product client
 * dials through src/client/): client-side sockets: a UDP "connected" datagram socket or a TCP connection
 * with length framing. Every received packet (control or data) goes to
 * onPacket; the caller dispatches control packets to its ControlSession.
 */

import { framedWriter } from "../../control/tcp_framing_io.ts";
import { FrameReassembler } from "../../control/tcp_framing.ts";

export interface ClientTransport {
  send(packet: Uint8Array): void;
  close(): void;
  readonly done: Promise<void>;
}

export type PacketHandler = (buf: Uint8Array, off: number, len: number) => void;

export async function connectClientTransport(
  kind: "udp" | "tcp",
  remote: { hostname: string; port: number },
  onPacket: PacketHandler,
  onClose: (reason: string) => void = () => {},
): Promise<ClientTransport> {
  if (kind === "udp") {
    const conn = Deno.listenDatagram({
      transport: "udp",
      hostname: remote.hostname.includes(":") ? "::" : "0.0.0.0",
      port: 0,
    });
    const to: Deno.NetAddr = { transport: "udp", hostname: remote.hostname, port: remote.port };
    let closed = false;
    const done = (async () => {
      try {
        for await (const [data, addr] of conn) {
          const a = addr as Deno.NetAddr;
          if (a.port !== remote.port || a.hostname !== remote.hostname) continue;
          onPacket(data, 0, data.length);
        }
      } catch (e) {
        if (!closed) onClose(`UDP socket failed: ${(e as Error).message}`);
      }
    })();
    return {
      send(p) {
        if (!closed) conn.send(p, to).catch(() => {});
      },
      close() {
        if (closed) return;
        closed = true;
        try {
          conn.close();
        } catch {
          // already closed
        }
      },
      done,
    };
  }
  const conn = await Deno.connect({ transport: "tcp", hostname: remote.hostname, port: remote.port });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  const write = framedWriter(conn, () => {
    onClose("TCP write failed");
    close();
  });
  const reasm = new FrameReassembler();
  const done = (async () => {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        reasm.feed(buf.subarray(0, n), onPacket);
      }
      if (!closed) onClose("server closed the TCP connection");
    } catch (e) {
      if (!closed) onClose(`TCP connection failed: ${(e as Error).message}`);
    } finally {
      close();
    }
  })();
  return { send: (p) => write(p), close, done };
}
