/**
 * Pushed DNS settings written to a resolv.conf and the original put back.
 *
 * The file is rewritten in place (truncate + write), never replaced by
 * rename, so a bind mount over it keeps working (`ip netns exec` mounts
 * /etc/netns/NAME/resolv.conf over /etc/resolv.conf). A symlink (e.g. to
 * systemd-resolved's stub file) is replaced by a plain file and recreated on
 * restore, so the link's target is never written.
 *
 * Before the first write the original is saved beside the file as
 * `<path>.tsvpn-saved` (JSON). `restore()` puts it back and deletes the save;
 * `recoverResolvConf()` does the same at start-up when a previous run was
 * killed before it could restore.
 */

import { parseIp } from "../addr/ip.ts";
import { isHostName } from "../config/values.ts";
import type { DnsTarget } from "./host_changes.ts";
import type { DnsSettings } from "./host_plan_types.ts";
import type { Logger } from "../log/log.ts";

type Saved =
  | { kind: "file"; content: string; mode: number | null }
  | { kind: "symlink"; target: string }
  | { kind: "absent" };

/**
 * The resolv.conf text for `dns`, keeping the original's `options` lines.
 * Only host names and IP addresses are written (push_vet.ts already refused
 * anything else with a warning), so no pushed text can start a line of its own.
 */
export function formatResolvConf(dns: DnsSettings, dev: string, original: string): string {
  const lines = [`# Written by tsvpn for ${dev}; the previous contents come back when the tunnel closes`];
  const search = dns.search.filter(isHostName);
  if (search.length > 0) lines.push(`search ${search.join(" ")}`);
  for (const server of dns.servers) {
    const ip = parseIp(server);
    if (ip) lines.push(`nameserver ${ip.text}`);
  }
  for (const line of original.split("\n")) if (/^\s*options\s/.test(line)) lines.push(line.trim());
  return lines.join("\n") + "\n";
}

/** The `nameserver` addresses of resolv.conf text. */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (match) out.push(match[1].replace(/%.*$/, ""));
  }
  return out;
}

export function savedPath(path: string): string {
  return `${path}.tsvpn-saved`;
}

async function readSaved(path: string): Promise<Saved | null> {
  try {
    return JSON.parse(await Deno.readTextFile(savedPath(path))) as Saved;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot read ${savedPath(path)}: ${(e as Error).message}`);
  }
}

async function capture(path: string): Promise<Saved> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) return { kind: "symlink", target: await Deno.readLink(path) };
    return {
      kind: "file",
      content: await Deno.readTextFile(path),
      mode: info.mode === null ? null : info.mode & 0o7777,
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "absent" };
    throw e;
  }
}

async function putBack(path: string, saved: Saved): Promise<void> {
  const current = await Deno.lstat(path).catch(() => null);
  if (saved.kind === "file") {
    if (current?.isSymlink) await Deno.remove(path);
    await Deno.writeTextFile(path, saved.content);
    if (saved.mode !== null) await Deno.chmod(path, saved.mode);
  } else if (saved.kind === "symlink") {
    if (current) await Deno.remove(path);
    await Deno.symlink(saved.target, path);
  } else if (current) {
    await Deno.remove(path);
  }
  await Deno.remove(savedPath(path)).catch(() => {});
}

/** Puts back a resolv.conf a killed earlier run left changed; true when there was one. */
export async function recoverResolvConf(path: string, log: Logger): Promise<boolean> {
  const saved = await readSaved(path);
  if (!saved) return false;
  await putBack(path, saved);
  log.warn("restored resolv.conf left behind by an earlier run", { path });
  return true;
}

export class ResolvConfFile implements DnsTarget {
  readonly path: string;
  readonly #log: Logger;
  #saved: Saved | null = null;

  constructor(path: string, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  async originalServers(): Promise<string[]> {
    const saved = this.#saved ?? await capture(this.path);
    if (saved.kind === "file") return parseNameservers(saved.content);
    if (saved.kind === "symlink") {
      return parseNameservers(await Deno.readTextFile(this.path).catch(() => ""));
    }
    return [];
  }

  async apply(dns: DnsSettings, dev: string): Promise<void> {
    if (!this.#saved) {
      this.#saved = await capture(this.path);
      await Deno.writeTextFile(savedPath(this.path), JSON.stringify(this.#saved), { mode: 0o600 });
    }
    let original = "";
    if (this.#saved.kind === "file") original = this.#saved.content;
    const text = formatResolvConf(dns, dev, original);
    const current = await Deno.lstat(this.path).catch(() => null);
    if (current?.isSymlink) await Deno.remove(this.path);
    await Deno.writeTextFile(this.path, text, { mode: 0o644 });
  }

  async restore(): Promise<void> {
    if (!this.#saved) return;
    await putBack(this.path, this.#saved);
    this.#saved = null;
    this.#log.info("resolv.conf restored", { path: this.path });
  }
}
