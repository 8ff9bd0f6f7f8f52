/**
 * The server's CRL: the last good copy of the configured CRL, what changes it,
 * and the re-check of connected clients each change triggers.
 *
 *   poll()    once a second: a file whose version (mtime, size, inode) changed
 *             is read again; a bad version is retried quietly on later polls
 *             (a writer may still be busy with it)
 *   reload()  SIGHUP and reload-crl: read again whatever the version; rejects
 *             with the reason when the file is bad, so reload-crl reports it
 *
 * A CRL that cannot be read or parsed is never applied: the last good one
 * stays in force and one warning per bad version says so. A good new CRL
 * re-checks every client with the certificate and chain it presented at its
 * latest handshake or renegotiation, and disconnects those now refused
 * (revoked, or refused for any other reason, such as an expired CRL). Loading
 * an expired or not-yet-valid CRL is logged with its dates, as is the moment a
 * loaded CRL passes its nextUpdate.
 */

import type { PemSource } from "../config/schema.ts";
import { readPemSource } from "../config/pem_source.ts";
import type { Logger } from "../log/log.ts";
import type { RevocationList } from "../pki/revocation_list.ts";
import { formatUtc, parseCrls, type VerifyPeerResult } from "../pki/verify.ts";

/** A connected client, as the re-check sees it. */
export interface CrlClient {
  name: string;
  /** The certificate (DER) and the chain the client sent at its latest handshake or renegotiation. */
  certificate: Uint8Array;
  chain: Uint8Array[];
  disconnect(reason: string): void | Promise<void>;
}

export interface CrlWatchOptions {
  source: PemSource;
  log: Logger;
  /** Verifies a client's certificate and chain against CRL text (the server's CA and usage). */
  verify: (certificate: Uint8Array, chain: Uint8Array[], crl: string) => Promise<VerifyPeerResult>;
  /** The clients to re-check, at the time of the call. */
  clients: () => CrlClient[];
  /** @default () => new Date() */
  now?: () => Date;
  /** @default readPemSource */
  readText?: (source: PemSource) => Promise<string>;
  /** A file's version: equal strings mean unchanged. @default mtime:size:inode from Deno.stat */
  version?: (path: string) => Promise<string>;
}

async function statVersion(path: string): Promise<string> {
  try {
    const s = await Deno.stat(path);
    return `${s.mtime?.getTime() ?? 0}:${s.size}:${s.ino ?? 0}`;
  } catch (e) {
    return `unreadable: ${(e as Error).name}`;
  }
}

export class CrlWatch {
  readonly #o: CrlWatchOptions;
  readonly #label: string;
  #text = "";
  #goodVersion = "";
  #badVersion: string | null = null;
  /** nextUpdates of the CRLs in force still ahead, earliest first (their passing is logged once). */
  #ahead: { issuer: string; at: Date }[] = [];
  /** Clients the CRL version in force disconnected, over all its reloads. */
  #disconnects = 0;
  #polling = false;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(o: CrlWatchOptions) {
    this.#o = o;
    this.#label = o.source.kind === "file" ? o.source.path : "inline CRL";
  }

  /** Loads the configured CRL; a CRL that cannot be read or parsed is a start-up error. */
  static async open(o: CrlWatchOptions): Promise<CrlWatch> {
    const w = new CrlWatch(o);
    const version = await w.#version();
    const r = await w.#read();
    if (typeof r === "string") throw new Error(`CRL ${w.#label} ${r}`);
    w.#install(version, r.text, r.crls);
    return w;
  }

  /** The CRL text in force: the last one that read and parsed. */
  get text(): string {
    return this.#text;
  }

  /** Reloads a file whose version changed, or retries a bad version; never rejects. */
  poll(): Promise<void> {
    if (this.#polling) return Promise.resolve();
    this.#polling = true;
    return this.#serialized(async () => {
      this.#noteExpiry();
      if (this.#o.source.kind !== "file") return;
      const version = await this.#version();
      if (version === this.#goodVersion) return;
      await this.#apply(version, false);
    }).catch((e) => this.#o.log.warn("CRL check failed", { reason: (e as Error).message }))
      .finally(() => this.#polling = false);
  }

  /**
   * Reads the CRL again and re-checks every client; resolves to the number of
   * clients this CRL version disconnected in all (an earlier poll may have
   * applied it first), rejects when the CRL cannot be read or parsed.
   */
  reload(): Promise<number> {
    return this.#serialized(async () => {
      const version = await this.#version();
      await this.#apply(version, true);
      return this.#disconnects;
    });
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #version(): Promise<string> {
    const s = this.#o.source;
    return s.kind === "file" ? (this.#o.version ?? statVersion)(s.path) : Promise.resolve("inline");
  }

  async #read(): Promise<{ text: string; crls: RevocationList[] } | string> {
    let text: string;
    try {
      text = await (this.#o.readText ?? readPemSource)(this.#o.source);
    } catch (e) {
      return `could not be read: ${(e as Error).message}`;
    }
    try {
      return { text, crls: parseCrls(text) };
    } catch (e) {
      return `could not be parsed: ${(e as Error).message}`;
    }
  }

  async #apply(version: string, explicit: boolean): Promise<void> {
    const r = await this.#read();
    if (typeof r === "string") {
      if (explicit || version !== this.#badVersion) {
        this.#o.log.warn("CRL not applied, keeping the last good one", { file: this.#label, reason: r });
      }
      this.#badVersion = version;
      if (explicit) throw new Error(`CRL ${this.#label} ${r}; the last good CRL stays in force`);
      return;
    }
    this.#badVersion = null;
    const changed = r.text !== this.#text;
    if (version !== this.#goodVersion || changed) this.#disconnects = 0;
    this.#install(version, r.text, r.crls);
    if (changed || explicit) this.#disconnects += await this.#recheck();
  }

  #install(version: string, text: string, crls: RevocationList[]): void {
    this.#text = text;
    this.#goodVersion = version;
    const now = this.#now();
    this.#ahead = [];
    for (const crl of crls) {
      const issuer = crl.issuer.text;
      if (crl.nextUpdate !== null && now > crl.nextUpdate) {
        this.#o.log.warn("CRL has expired: clients it covers are refused until it is renewed", {
          issuer,
          nextUpdate: formatUtc(crl.nextUpdate),
        });
      } else if (now < crl.thisUpdate) {
        this.#o.log.warn("CRL is not yet valid: clients it covers are refused until then", {
          issuer,
          thisUpdate: formatUtc(crl.thisUpdate),
        });
      }
      if (crl.nextUpdate !== null && now <= crl.nextUpdate) this.#ahead.push({ issuer, at: crl.nextUpdate });
    }
    this.#ahead.sort((a, b) => a.at.getTime() - b.at.getTime());
    const revoked = crls.reduce((n, c) => n + c.revokedSerials.length, 0);
    this.#o.log.info("CRL loaded", {
      file: this.#label,
      crls: crls.length,
      revoked,
      ...(this.#ahead.length > 0 ? { nextUpdate: formatUtc(this.#ahead[0].at) } : {}),
    });
  }

  /** Logs once when a CRL in force passes its nextUpdate (handshakes are refused from then on). */
  #noteExpiry(): void {
    const now = this.#now();
    while (this.#ahead.length > 0 && now > this.#ahead[0].at) {
      const { issuer, at } = this.#ahead.shift()!;
      this.#o.log.warn("CRL has expired: clients it covers are refused until it is renewed", {
        issuer,
        nextUpdate: formatUtc(at),
      });
    }
  }

  async #recheck(): Promise<number> {
    let n = 0;
    for (const client of this.#o.clients()) {
      const r = await this.#o.verify(client.certificate, client.chain, this.#text);
      if (r.ok) continue;
      n++;
      this.#o.log.warn("disconnecting client", { cn: client.name, reason: r.reason });
      await client.disconnect(r.reason);
    }
    return n;
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }
}
