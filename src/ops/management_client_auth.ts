/**
 * OpenVPN's --management-client-auth (management.client_auth): the server asks management clients
 * about every new client and every renegotiation, and waits for their answer.
 *
 *   >CLIENT:CONNECT|REAUTH,{CID},{KID}      then >CLIENT:ENV,name=value … >CLIENT:ENV,END
 *   client-auth CID KID  + config lines + END   accept (the server applies the `push "…"` lines)
 *   client-auth-nt CID KID                      accept
 *   client-deny CID KID "reason" ["client-reason"]   refuse: the client gets AUTH_FAILED[,client-reason]
 *   >CLIENT:ESTABLISHED,{CID} / >CLIENT:DISCONNECT,{CID}   with their ENV blocks
 *
 * Notifications go to every management session (each block written whole); a session that connects
 * while decisions are pending is shown them. A pending decision that gets no answer within
 * `pendingTimeoutMs` (55 s, inside the 60 s handshake window) is refused.
 */

import type { Logger } from "../log/log.ts";
import type { ClientAuthGate, GateDecision } from "./client_auth_gate.ts";

/** A management session's notification writer (one whole block per call). */
export type NotificationSink = (text: string) => void;

export interface ClientAuthHubOptions {
  log: Logger;
  /** @default 55000 (inside the 60 s handshake window, so the refusal reaches the client) */
  pendingTimeoutMs?: number;
}

interface Pending {
  cid: number;
  kid: number;
  block: string;
  resolve: (d: GateDecision) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One command's reply lines; `needsBlock` asks the session for the lines up to END first. */
export type ClientAuthCommand =
  | { kind: "reply"; lines: string[] }
  | { kind: "block"; finish: (block: string[]) => string[] };

const AUTH_OK = "SUCCESS: client-auth command succeeded";
const AUTH_FAILED = "ERROR: client-auth command failed";
const DENY_OK = "SUCCESS: client-deny command succeeded";
const DENY_FAILED = "ERROR: client-deny command failed";
/** Most config lines accepted after client-auth. */
export const MAX_CLIENT_AUTH_LINES = 256;

export class ClientAuthHub implements ClientAuthGate {
  readonly #o: ClientAuthHubOptions;
  readonly #sinks = new Set<NotificationSink>();
  readonly #pending = new Map<string, Pending>();

  constructor(o: ClientAuthHubOptions) {
    this.#o = o;
  }

  /** Adds a session's writer and shows it the decisions waiting; returns its removal. */
  attach(sink: NotificationSink): () => void {
    this.#sinks.add(sink);
    for (const p of this.#pending.values()) sink(p.block);
    return () => this.#sinks.delete(sink);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  decide(
    kind: "CONNECT" | "REAUTH",
    cid: number,
    kid: number,
    env: Record<string, string>,
  ): Promise<GateDecision> {
    const key = `${cid}/${kid}`;
    this.#pending.get(key)?.resolve({ ok: false, reason: "superseded" });
    return new Promise((resolve) => {
      const timeoutMs = this.#o.pendingTimeoutMs ?? 55_000;
      const timer = setTimeout(() => {
        this.#o.log.warn("no client-auth answer in time: client refused", { cid, kid, timeoutMs });
        this.#settle(key, { ok: false, reason: "authentication timed out" });
      }, timeoutMs);
      const block = envBlock(`>CLIENT:${kind},${cid},${kid}`, env);
      this.#pending.set(key, { cid, kid, block, resolve, timer });
      this.#broadcast(block);
    });
  }

  established(cid: number, env: Record<string, string>): void {
    this.#broadcast(envBlock(`>CLIENT:ESTABLISHED,${cid}`, env));
  }

  disconnected(cid: number, env: Record<string, string>): void {
    for (const [key, p] of this.#pending) {
      if (p.cid === cid) this.#settle(key, { ok: false, reason: "client disconnected" });
    }
    this.#broadcast(envBlock(`>CLIENT:DISCONNECT,${cid}`, env));
  }

  /** Handles client-auth, client-auth-nt and client-deny; null for any other command. */
  command(words: string[]): ClientAuthCommand | null {
    const [name, cid, kid] = words;
    switch (name?.toLowerCase()) {
      case "client-auth":
        return { kind: "block", finish: (block) => [this.#accept(cid, kid, block)] };
      case "client-auth-nt":
        return { kind: "reply", lines: [this.#accept(cid, kid, [])] };
      case "client-deny":
        return { kind: "reply", lines: [this.#deny(cid, kid, words[3], words[4])] };
    }
    return null;
  }

  #accept(cid: string | undefined, kid: string | undefined, config: string[]): string {
    const key = pendingKey(cid, kid);
    if (key === null) return "ERROR: cannot parse CID";
    if (!this.#pending.has(key)) return AUTH_FAILED;
    this.#settle(key, { ok: true, config });
    return AUTH_OK;
  }

  #deny(cid: string | undefined, kid: string | undefined, reason?: string, clientReason?: string): string {
    const key = pendingKey(cid, kid);
    if (key === null) return "ERROR: cannot parse CID";
    if (reason === undefined) return "ERROR: The client-deny command requires at least 3 parameters";
    if (!this.#pending.has(key)) return DENY_FAILED;
    this.#o.log.info("client denied by the management interface", { cid, kid, reason });
    this.#settle(key, { ok: false, reason: clientReason ?? "" });
    return DENY_OK;
  }

  #settle(key: string, d: GateDecision): void {
    const p = this.#pending.get(key);
    if (!p) return;
    this.#pending.delete(key);
    clearTimeout(p.timer);
    p.resolve(d);
  }

  #broadcast(block: string): void {
    for (const sink of this.#sinks) sink(block);
  }

  /** Refuses everything still pending (the interface is closing). */
  close(): void {
    for (const key of [...this.#pending.keys()]) {
      this.#settle(key, { ok: false, reason: "server shutting down" });
    }
  }
}

function pendingKey(cid: string | undefined, kid: string | undefined): string | null {
  if (cid === undefined || kid === undefined || !/^\d{1,10}$/.test(cid) || !/^\d{1,10}$/.test(kid)) {
    return null;
  }
  return `${Number(cid)}/${Number(kid)}`;
}

/** A notification line and its ENV block, CRLF-terminated; values lose CR/LF so a block stays whole. */
export function envBlock(head: string, env: Record<string, string>): string {
  const lines = [head];
  for (const [k, v] of Object.entries(env)) lines.push(`>CLIENT:ENV,${k}=${v.replace(/[\r\n]/g, "_")}`);
  lines.push(">CLIENT:ENV,END");
  return lines.join("\r\n") + "\r\n";
}

/**
 * Splits a command line as OpenVPN's parse_line does: whitespace separates, double quotes group,
 * a backslash escapes the next character inside quotes.
 */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inQuote = false;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQuote) {
      if (c === "\\" && i + 1 < line.length) cur += line[++i];
      else if (c === '"') inQuote = false;
      else cur += c;
    } else if (c === '"') {
      inQuote = true;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}
