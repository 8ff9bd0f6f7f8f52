/**
 * Test support: runs one TLS 1.3 handshake between tsvpn's TlsChannel (plus
 * the peer verifier the session would run on it) and a Tls13Forger, joined
 * in memory, and reports what each layer decided.
 */

import {
  createTlsChannel,
  type TlsCredentials,
  type TlsEndpoint,
  type TlsEngineName,
} from "../../src/control/tls_channel.ts";
import type { PeerVerifier, PeerVerifyResult } from "../../src/control/session.ts";
import { type ForgeryPlan, Tls13Forger } from "./tls13_forger.ts";

export interface ForgeryOutcome {
  /** TLS completed the handshake: the TlsChannel reported onSecure. */
  tlsAccepted: boolean;
  /** The TlsChannel's error, when TLS refused or failed. */
  tlsError: string | null;
  /** The alert the forger received, if any. */
  alert: number | null;
  /** The verifier's verdict on what TLS reported, when TLS completed. */
  verdict: PeerVerifyResult | null;
  /** The peer certificate the TlsChannel reported. */
  peerCertificate: Uint8Array | null;
  /** A protocol problem on the forger's own side (a broken test peer). */
  forgerFailure: string | null;
}

export interface ForgeryRun {
  /** The TLS engine of tsvpn's side (default: this process's). */
  engine?: TlsEngineName;
  /** The role of tsvpn's side; the forger takes the other one. */
  target: "client" | "server";
  credentials: TlsCredentials;
  plan: ForgeryPlan;
  verifier: PeerVerifier;
  /** @default 5000 */
  timeoutMs?: number;
}

/** True when the peer got through every check tsvpn makes before key-method 2. */
export function impersonationSucceeded(o: ForgeryOutcome): boolean {
  return o.tlsAccepted && o.verdict !== null && o.verdict.ok;
}

/** Runs the handshake until TLS fails, the verifier decides, or the forger stops. */
export function runForgery(run: ForgeryRun): Promise<ForgeryOutcome> {
  const outcome: ForgeryOutcome = {
    tlsAccepted: false,
    tlsError: null,
    alert: null,
    verdict: null,
    peerCertificate: null,
    forgerFailure: null,
  };
  const forgerRole = run.target === "client" ? "server" : "client";
  return new Promise((resolve, reject) => {
    let settled = false;
    // deno-lint-ignore prefer-const
    let channel: TlsEndpoint;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome.alert = forger.alert;
      outcome.forgerFailure = forger.failure;
      channel.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      channel.destroy();
      reject(new Error(`forgery run timed out: ${JSON.stringify({ ...outcome, peerCertificate: null })}`));
    }, run.timeoutMs ?? 5000);
    const forger = new Tls13Forger(forgerRole, run.plan, (bytes) => {
      setTimeout(() => {
        if (!settled) channel.feed(bytes);
      }, 0);
    });
    const afterForgerInput = () => {
      if (forger.failure !== null || forger.alert !== null) finish();
    };
    channel = createTlsChannel(run.target, run.credentials, {
      onCiphertext: (bytes) =>
        setTimeout(() => {
          if (settled) return;
          forger.receive(bytes);
          afterForgerInput();
        }, 0),
      onSecure: (info) => {
        outcome.tlsAccepted = true;
        outcome.peerCertificate = info.peerCertificate;
        if (info.peerCertificate === null) {
          outcome.verdict = { ok: false, reason: "no peer certificate" };
          finish();
          return;
        }
        run.verifier(info.peerCertificate, info.peerChain).then((v) => {
          outcome.verdict = v;
          finish();
        }, (e) => {
          outcome.verdict = { ok: false, reason: `verifier threw: ${(e as Error).message}` };
          finish();
        });
      },
      onPlaintext: () => {},
      onError: (reason) => {
        outcome.tlsError ??= reason;
        if (!outcome.tlsAccepted) finish();
      },
    }, run.engine);
    forger.start();
  });
}
