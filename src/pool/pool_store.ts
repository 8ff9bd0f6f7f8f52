/**
 * Persistence of the pool's name → address bindings as a JSON file, so
 * clients get their old addresses after a restart (OpenVPN's
 * ifconfig-pool-persist, in JSON). File I/O is injected; saving replaces the
 * file atomically (a new temporary file, mode 0600, fsynced, renamed over the
 * old one: src/fs/safe_file.ts), so a crash never leaves a half-written file
 * and a symlink planted at either name is never written through.
 *
 * File format: {"version": 1, "leases": [{"name": "alice", "ipv4": "10.8.0.2", "ipv6": "fd00:8::1000"}]}
 */

import { writeFileAtomic } from "../fs/safe_file.ts";
import type { PoolSnapshot, PoolSnapshotEntry } from "./address_pool.ts";

export interface PoolFileIo {
  /** Rejects with Deno.errors.NotFound (or an error with code "ENOENT") when the file does not exist. */
  readTextFile(path: string): Promise<string>;
  /** Replaces `path` with `data` all at once (names and addresses of users: mode 0600). */
  replaceFile(path: string, data: string): Promise<void>;
}

/** Real file I/O through Deno (needs --allow-read/--allow-write for the path). */
export const denoPoolFileIo: PoolFileIo = {
  readTextFile: (path) => Deno.readTextFile(path),
  replaceFile: (path, data) => writeFileAtomic(path, data, { mode: 0o600 }),
};

function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || (e as { code?: string } | null)?.code === "ENOENT";
}

/** Checks parsed JSON against the snapshot format; throws SyntaxError naming the file and the problem. */
export function parsePoolSnapshot(text: string, path: string): PoolSnapshot {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Pool file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  const fail = (why: string): never => {
    throw new SyntaxError(`Pool file ${path} is not a tsvpn pool file: ${why}`);
  };
  if (typeof data !== "object" || data === null) fail("expected an object");
  const obj = data as Record<string, unknown>;
  if (obj.version !== 1) fail(`unsupported version ${JSON.stringify(obj.version)}`);
  if (!Array.isArray(obj.leases)) fail('"leases" must be an array');
  const leases: PoolSnapshotEntry[] = [];
  (obj.leases as unknown[]).forEach((item, i) => {
    if (typeof item !== "object" || item === null) fail(`leases[${i}] must be an object`);
    const e = item as Record<string, unknown>;
    if (typeof e.name !== "string" || e.name === "") fail(`leases[${i}].name must be a non-empty string`);
    for (const key of ["ipv4", "ipv6"]) {
      if (e[key] !== undefined && typeof e[key] !== "string") fail(`leases[${i}].${key} must be a string`);
    }
    const entry: PoolSnapshotEntry = { name: e.name as string };
    if (e.ipv4 !== undefined) entry.ipv4 = e.ipv4 as string;
    if (e.ipv6 !== undefined) entry.ipv6 = e.ipv6 as string;
    leases.push(entry);
  });
  return { version: 1, leases };
}

export class PoolStore {
  readonly path: string;
  readonly #io: PoolFileIo;

  constructor(path: string, io: PoolFileIo = denoPoolFileIo) {
    this.path = path;
    this.#io = io;
  }

  /** The saved snapshot, or null when the file does not exist yet. */
  async load(): Promise<PoolSnapshot | null> {
    let text: string;
    try {
      text = await this.#io.readTextFile(this.path);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw new Error(`Cannot read pool file ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    return parsePoolSnapshot(text, this.path);
  }

  /** Writes the snapshot atomically. */
  async save(snapshot: PoolSnapshot): Promise<void> {
    try {
      await this.#io.replaceFile(this.path, JSON.stringify(snapshot, null, 2) + "\n");
    } catch (e) {
      throw new Error(`Cannot write pool file ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }
}
