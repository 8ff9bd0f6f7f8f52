/**
 * One key's negotiation once the reliability layer delivers its messages in order, the same for both
 * roles (what differs is in RoleSteps):
 *
 *   message 0        the peer's reset (hard reset for key-id 0, soft reset after); the client starts TLS
 *   messages 1..     TLS records; the server starts TLS with the first of them
 *   TLS secure       the peer's certificate is verified (verifyPeer); a refusal sends a fatal alert
 *   key-method 2     client first (pre-master, randoms, options, peer-info), the server answers (randoms)
 *   key ready        the key block is derived (prf.ts) and the key becomes the primary one
 *   then             NUL-terminated control messages (control_message.ts)
 *
 * Plaintext that arrives while the certificate is being verified is held (bounded) and read after.
 */

import { decodeKeyMethod2, encodeKeyMethod2, type KeyMethod2Message } from "./key_method2.ts";
import type { KeyState, Phase } from "./key_state.ts";
import { normalizeCipher } from "./ncp.ts";
import { P_CONTROL_SOFT_RESET_V1, P_CONTROL_V1 } from "./opcode.ts";
import { deriveKey2 } from "./prf.ts";
import { buildClientPeerInfo, IV_PROTO_CC_EXIT_NOTIFY, parsePeerInfo, peerIvProto } from "./peer_info.ts";
import type { RoleSteps, SessionCore } from "./session_core.ts";
import type { PeerVerifyResult } from "./session_types.ts";
import { peerHardReset } from "./session_wire.ts";
import {
  ALERT_BAD_CERTIFICATE,
  ALERT_CERTIFICATE_EXPIRED,
  ALERT_CERTIFICATE_REVOKED,
  ALERT_UNKNOWN_CA,
  createTlsChannel,
  fatalAlertRecord,
  type TlsSecureInfo,
} from "./tls_channel.ts";

/** Most TLS plaintext held while the peer certificate is being verified (a key-method 2 message is < 2 KiB). */
const MAX_PENDING_PLAIN = 64 * 1024;
/** Most bytes of one key-method 2 message. */
const MAX_KEY_METHOD2_BYTES = 65536;
/** How long a refused certificate's alert has to reach the peer before the session ends. */
const CERTIFICATE_REFUSAL_GRACE_MS = 1000;

function alertFor(reason: string): number {
  if (/revoked/i.test(reason)) return ALERT_CERTIFICATE_REVOKED;
  if (/expired|not yet valid/i.test(reason)) return ALERT_CERTIFICATE_EXPIRED;
  if (/CA|issuer|chain|signature/i.test(reason)) return ALERT_UNKNOWN_CA;
  return ALERT_BAD_CERTIFICATE;
}

/** Where a key's negotiation hands over to the session. */
export interface NegotiationEvents {
  /** Key `ks` became the primary key (its deadlines moved). */
  keyActivated(ks: KeyState): void;
  /** A complete control message arrived on key `ks`. */
  controlMessage(ks: KeyState, text: string): void;
}

export class KeyNegotiation {
  readonly #core: SessionCore;
  readonly #steps: RoleSteps;
  readonly #events: NegotiationEvents;

  constructor(core: SessionCore, steps: RoleSteps, events: NegotiationEvents) {
    this.#core = core;
    this.#steps = steps;
    this.#events = events;
  }

  /** An in-order reliable message of key `ks`. */
  receive(ks: KeyState, opcode: number, messageId: number, payload: Uint8Array): void {
    const role = this.#core.role;
    if (messageId === 0) {
      const expect = ks.keyId === 0 ? peerHardReset(role) : P_CONTROL_SOFT_RESET_V1;
      if (opcode !== expect) {
        this.#core.failKey(ks, "protocol", `peer opened key ${ks.keyId} with an unexpected packet`);
        return;
      }
      ks.peerResetSeen = true;
      if (role === "client" && this.#core.wire.remoteConfirmed) this.#startTls(ks);
      return;
    }
    if (opcode !== P_CONTROL_V1) {
      this.#core.failKey(ks, "protocol", `unexpected reset packet inside key ${ks.keyId}`);
      return;
    }
    if (!ks.tls && role === "server") this.#startTls(ks);
    ks.tls?.feed(payload);
  }

  /**
   * Client: the server proved it received our reset (session_wire.ts). TLS starts now if the server's reset
   * arrived before the proof (a stateless answer carries none).
   */
  serverConfirmed(ks: KeyState): void {
    if (this.#core.role === "client" && ks.peerResetSeen && !ks.tls && ks.phase !== "failed") {
      this.#startTls(ks);
    }
  }

  /** Writes our key-method 2 message into key `ks`'s TLS channel. */
  sendKeyMethod2(ks: KeyState): void {
    const core = this.#core;
    const client = core.role === "client";
    const creds = client ? core.options.userPass?.() ?? null : null;
    const msg: KeyMethod2Message = {
      keySource: ks.local,
      options: this.#optionsString(),
      username: creds?.username ?? "",
      password: creds?.password ?? "",
      peerInfo: client ? buildClientPeerInfo({ ciphers: core.ciphers, ...core.options.peerInfo }) : "",
    };
    ks.tls?.write(encodeKeyMethod2(msg, client));
  }

  #startTls(ks: KeyState): void {
    if (ks.tls) return;
    const core = this.#core;
    ks.phase = "tls";
    ks.tls = createTlsChannel(core.role, core.options.credentials, {
      onCiphertext: (b) => {
        // Still sent after the key failed: carries a refusal (alert, AUTH_FAILED) to the peer.
        if (core.closed) return;
        ks.reliable.write(b);
        core.scheduleFlush();
      },
      onSecure: (info) => {
        this.#onSecure(ks, info).catch((e) =>
          core.failKey(ks, "internal", `internal error: ${(e as Error)?.message ?? e}`)
        );
      },
      onPlaintext: (b) => this.#onPlaintext(ks, b),
      onError: (reason) => core.failKey(ks, "tls", reason),
    });
  }

  async #onSecure(ks: KeyState, info: TlsSecureInfo): Promise<void> {
    const core = this.#core;
    if (ks.phase === "failed" || core.closed) return;
    ks.phase = "verify";
    ks.tlsProtocol = info.protocol;
    const who = core.role === "server" ? "client" : "server";
    if (!info.peerCertificate) {
      this.#refuseCertificate(ks, `${who} presented no certificate`);
      return;
    }
    let result: PeerVerifyResult;
    try {
      result = await core.options.verifyPeer(info.peerCertificate, info.peerChain);
    } catch (e) {
      result = { ok: false, reason: `verifier failed: ${(e as Error).message}` };
    }
    if ((ks.phase as Phase) === "failed" || core.closed) return;
    if (!result.ok) {
      this.#refuseCertificate(ks, `${who} certificate refused: ${result.reason}`);
      return;
    }
    const known = core.agreed.peer;
    if (known && known.commonName !== result.commonName) {
      this.#refuseCertificate(ks, `${who} certificate changed common name during renegotiation`);
      return;
    }
    core.log?.info(`${who} certificate verified`, {
      cn: result.commonName,
      keyId: ks.keyId,
      tls: info.protocol,
    });
    if (!known) {
      core.agreed.peer = {
        commonName: result.commonName,
        serial: result.serial,
        certificate: info.peerCertificate,
        chain: info.peerChain,
        peerInfo: new Map(),
        ivProto: 0,
        remoteOptions: "",
        username: "",
        tsvpn: null,
      };
    } else {
      // A renegotiation may present another certificate of the same name: later checks (CRL reload) use it.
      known.serial = result.serial;
      known.certificate = info.peerCertificate;
      known.chain = info.peerChain;
    }
    ks.phase = "km2";
    this.#steps.certificateVerified(ks);
    const pending = ks.pendingPlain;
    ks.pendingPlain = [];
    ks.pendingPlainBytes = 0;
    for (const b of pending) this.#onPlaintext(ks, b);
  }

  #refuseCertificate(ks: KeyState, reason: string): void {
    // The handshake already completed at the TLS layer; a fatal alert makes a stock peer stop at once.
    ks.reliable.write(fatalAlertRecord(alertFor(reason)));
    this.#core.scheduleFlush();
    this.#core.log?.error(reason, { keyId: ks.keyId });
    this.#core.failKey(ks, "verify", reason, CERTIFICATE_REFUSAL_GRACE_MS);
  }

  #onPlaintext(ks: KeyState, bytes: Uint8Array): void {
    const core = this.#core;
    if (ks.phase === "failed" || core.closed) return;
    if (ks.phase === "tls" || ks.phase === "verify") {
      ks.pendingPlainBytes += bytes.length;
      if (ks.pendingPlainBytes > MAX_PENDING_PLAIN) {
        core.failKey(ks, "protocol", "peer sent too much data before its certificate was verified");
        return;
      }
      ks.pendingPlain.push(bytes);
      return;
    }
    if (!ks.remote) {
      const rest = this.#readKeyMethod2(ks, bytes);
      if (rest === null || rest.length === 0) return;
      bytes = rest;
    }
    const msgs = ks.reader.push(bytes);
    if (msgs === null) {
      core.failKey(ks, "protocol", "control message too long");
      return;
    }
    for (const m of msgs) this.#events.controlMessage(ks, m);
  }

  /**
   * Buffers the peer's key-method 2 message until complete, then hands it on. Returns the plaintext after
   * it (control messages), or null while it is incomplete or after it failed the key.
   */
  #readKeyMethod2(ks: KeyState, bytes: Uint8Array): Uint8Array | null {
    const core = this.#core;
    const buf = new Uint8Array(ks.km2Buf.length + bytes.length);
    buf.set(ks.km2Buf);
    buf.set(bytes, ks.km2Buf.length);
    const r = decodeKeyMethod2(buf, core.role === "server");
    if (r.status === "incomplete") {
      if (buf.length > MAX_KEY_METHOD2_BYTES) core.failKey(ks, "protocol", "key-method 2 message too long");
      else ks.km2Buf = buf;
      return null;
    }
    if (r.status === "invalid") {
      core.failKey(ks, "protocol", `bad key-method 2 message: ${r.reason}`);
      return null;
    }
    ks.km2Buf = new Uint8Array(0);
    ks.remote = r.message;
    this.#keyMethod2Received(ks).catch((e) =>
      core.failKey(ks, "internal", `internal error: ${(e as Error)?.message ?? e}`)
    );
    return buf.subarray(r.consumed);
  }

  /** The peer's key-method 2 arrived: the role's step, then the key becomes active. */
  async #keyMethod2Received(ks: KeyState): Promise<void> {
    const initial = !this.#core.agreed.established;
    if (initial) this.#learnPeerInfo(ks.remote!);
    try {
      await this.#steps.keyMethod2Received(ks, initial, () => this.#keyReady(ks, initial));
    } finally {
      // The password is needed only by the role's step (authorization); keep no copy past it.
      ks.remote!.password = "";
    }
  }

  /** Derives the key block from both key-method 2 messages; `ks` becomes the primary key. */
  #keyReady(ks: KeyState, initial: boolean): void {
    const core = this.#core;
    const { localSessionId, remoteSessionId } = core.wire;
    const remote = ks.remote!;
    const key2 = core.role === "client"
      ? deriveKey2(ks.local, remote.keySource, localSessionId, remoteSessionId)
      : deriveKey2(remote.keySource, ks.local, remoteSessionId, localSessionId);
    ks.forgetKeySources();
    core.keys.activate(ks);
    const agreed = core.agreed;
    if (initial) {
      agreed.established = true;
      core.emit("established", {
        keyId: ks.keyId,
        peer: agreed.peer!,
        cipher: agreed.cipher,
        tlsProtocol: ks.tlsProtocol,
      });
      this.#steps.firstKeyReady(ks, key2);
    } else if (agreed.cipher) {
      core.emit("key", { keyId: ks.keyId, key2, cipher: agreed.cipher, role: core.role, initial: false });
    }
    this.#events.keyActivated(ks);
  }

  /** The first key-method 2 tells who the peer is beyond its certificate. */
  #learnPeerInfo(remote: KeyMethod2Message): void {
    const agreed = this.#core.agreed;
    const peer = agreed.peer;
    if (!peer) return;
    const info = parsePeerInfo(remote.peerInfo);
    peer.peerInfo = info;
    peer.ivProto = peerIvProto(info);
    peer.remoteOptions = remote.options;
    peer.username = remote.username;
    peer.tsvpn = info.get("IV_TSVPN") ?? null;
    agreed.peerCcExit = (peer.ivProto & IV_PROTO_CC_EXIT_NOTIFY) !== 0;
  }

  /** The options compatibility string OpenVPN peers compare (and a client reads the cipher from). */
  #optionsString(): string {
    const core = this.#core;
    const cipher = core.agreed.cipher ?? normalizeCipher(core.ciphers[0]) ?? "AES-256-GCM";
    const keysize = cipher === "AES-128-GCM" ? 128 : 256;
    const proto = core.options.proto === "tcp"
      ? (core.role === "server" ? "TCPv4_SERVER" : "TCPv4_CLIENT")
      : "UDPv4";
    return `V4,dev-type ${
      core.options.devType ?? "tun"
    },link-mtu 1549,tun-mtu 1500,proto ${proto},cipher ${cipher},auth [null-digest],` +
      `keysize ${keysize},key-method 2,tls-${core.role}`;
  }
}
