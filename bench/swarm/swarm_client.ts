/**
 * One emulated OpenVPN client of the swarm: its own UDP socket on its own
 * source address and port, the project's client-side ControlSession (hard
 * reset, TLS with its own certificate, key-method 2, PUSH_REQUEST/REPLY) and
 * a DataChannel keyed from the session, as `src/client/connection.ts` does.
 * No tun device: the generator writes inner packets itself (keepalive pings,
 * ICMP echo requests to the server's tunnel address) and counts what comes
 * back.
 *
 *   start() ──► socket ──► session.start() … key … pushReply ──► up (onUp)
 *                                          │
 *                                    closed/error/timeout ──► failed (onDown)
 */

import { ControlSession, type PeerVerifier, type SessionKey } from "../../src/control/session.ts";
import type { TlsCredentials } from "../../src/control/tls_channel.ts";
import { DataChannel } from "../../src/data/data_channel.ts";
import { DATA_V2_OVERHEAD, P_DATA_V1, P_DATA_V2, peekOpcode } from "../../src/data/data_header.ts";
import { writePing } from "../../src/data/keepalive_ping.ts";
import { dataKeysFromKey2 } from "../../src/data/key_material.ts";
import { OPEN_OK } from "../../src/data/verdicts.ts";
import { echoReplyId, writeEchoRequest } from "./icmp.ts";

export interface SwarmClientOptions {
  index: number;
  credentials: TlsCredentials;
  verifyPeer: PeerVerifier;
  bind: { hostname: string; port: number };
  server: { hostname: string; port: number };
  ciphers: readonly string[];
  /** The attempt fails when no PUSH_REPLY came within this. */
  handshakeTimeoutMs: number;
  onUp: (c: SwarmClient) => void;
  onDown: (c: SwarmClient, reason: string) => void;
}

type State = "new" | "connecting" | "up" | "failed" | "closed";

const SLOT_LEN = DATA_V2_OVERHEAD + 128;
/**
 * Receive buffer per client: larger than any control packet (≤ 1250-byte TLS payload plus headers) or the
 * small data packets the swarm gets back. Without one, Deno allocates (and zeroes) a 64 KiB buffer per
 * receive call: ~1 ms of the generator's CPU per client handshake, and 64 KiB pinned per pending receive.
 */
const RECEIVE_LEN = 2048;

export class SwarmClient {
  readonly index: number;
  state: State = "new";
  /** performance.now() when the first packet went out, and when the push arrived. */
  startedAt = 0;
  upAt = 0;
  /** The pushed tunnel address. */
  address = "";
  failure = "";
  echoesAnswered = 0;
  readonly #o: SwarmClientOptions;
  #conn: Deno.DatagramConn | null = null;
  #session: ControlSession | null = null;
  readonly #data = new DataChannel({ transitionWindowMs: 60_000 });
  readonly #server: Deno.NetAddr;
  readonly #slot = new Uint8Array(SLOT_LEN);
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(o: SwarmClientOptions) {
    this.index = o.index;
    this.#o = o;
    this.#server = { transport: "udp", hostname: o.server.hostname, port: o.server.port };
  }

  start(): void {
    this.state = "connecting";
    this.startedAt = performance.now();
    try {
      this.#conn = Deno.listenDatagram({ transport: "udp", ...this.#o.bind });
    } catch (e) {
      this.#fail(`socket ${this.#o.bind.hostname}:${this.#o.bind.port}: ${(e as Error).message}`);
      return;
    }
    const session = new ControlSession({
      role: "client",
      proto: "udp",
      credentials: this.#o.credentials,
      verifyPeer: this.#o.verifyPeer,
      send: (packet) => this.#send(packet),
      ciphers: this.#o.ciphers,
      handshakeWindowMs: this.#o.handshakeTimeoutMs,
    });
    this.#session = session;
    session.on("key", (k) => this.#installKey(k));
    session.on("pushReply", (e) => {
      if (e.options.peerId !== undefined) this.#data.localPeerId = e.options.peerId;
      this.address = e.options.ifconfig?.local ?? "";
      if (this.state !== "connecting") return;
      clearTimeout(this.#timer);
      this.state = "up";
      this.upAt = performance.now();
      this.#o.onUp(this);
    });
    session.on("closed", (e) => this.#fail(`session closed: ${e.kind}: ${e.reason}`));
    this.#timer = setTimeout(
      () => this.#fail(`no PUSH_REPLY within ${this.#o.handshakeTimeoutMs / 1000} s`),
      this.#o.handshakeTimeoutMs,
    );
    this.#receiveLoop(this.#conn);
    session.start();
  }

  /** Sends a keepalive ping on the data channel (the server drops silent clients). */
  keepalive(): void {
    if (this.state !== "up") return;
    this.#sealAndSend(writePing(this.#slot, DATA_V2_OVERHEAD));
  }

  /** Sends an ICMP echo request from the pushed address to `target` inside the tunnel. */
  echo(target: string, seq: number): void {
    if (this.state !== "up" || this.address === "") return;
    this.#sealAndSend(writeEchoRequest(this.#slot, DATA_V2_OVERHEAD, this.address, target, this.index, seq));
  }

  /** Closes the socket and the session without telling the server (the swarm ends at once). */
  close(): void {
    if (this.state === "closed") return;
    if (this.state !== "failed") this.state = "closed";
    clearTimeout(this.#timer);
    this.#session?.close("swarm ends", false);
    this.#data.clear();
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#conn = null;
  }

  #sealAndSend(plainLen: number): void {
    const len = this.#data.seal(this.#slot, DATA_V2_OVERHEAD, plainLen);
    if (len > 0) this.#send(this.#slot.slice(0, len));
  }

  #send(packet: Uint8Array): void {
    this.#conn?.send(packet, this.#server).catch(() => {/* counted as a failure by the deadline */});
  }

  #installKey(k: SessionKey): void {
    this.#data.installKey(
      k.keyId,
      dataKeysFromKey2(k.key2, { cipher: k.cipher, role: "client" }),
      Date.now(),
    );
  }

  async #receiveLoop(conn: Deno.DatagramConn): Promise<void> {
    const buffer = new Uint8Array(RECEIVE_LEN);
    try {
      for (;;) {
        const [packet] = await conn.receive(buffer);
        this.#onPacket(packet);
      }
    } catch {
      // the socket was closed
    }
  }

  #onPacket(p: Uint8Array): void {
    const op = peekOpcode(p, 0, p.length);
    if (op !== P_DATA_V2 && op !== P_DATA_V1) {
      this.#session?.receive(p.slice(), 0, p.length); // the buffer is reused; the session may keep the bytes
      return;
    }
    if (this.#data.open(p, 0, p.length) !== OPEN_OK) return;
    if (echoReplyId(p, this.#data.plainOff, this.#data.plainLen) === (this.index & 0xffff)) {
      this.echoesAnswered++;
    }
  }

  #fail(reason: string): void {
    if (this.state === "failed" || this.state === "closed") return;
    const wasUp = this.state === "up";
    this.state = "failed";
    this.failure = reason;
    this.close();
    this.#o.onDown(this, wasUp ? `lost: ${reason}` : reason);
  }
}
