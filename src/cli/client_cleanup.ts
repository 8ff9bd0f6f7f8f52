/**
 * `tsvpn client cleanup [--config FILE | --state-dir DIR]`: puts the host
 * back after a client was killed before it could undo its changes (kill -9,
 * OOM, power loss with a persistent resolv.conf), from the journal it kept
 * (src/client/host_journal.ts), exactly as its own stop would have. With
 * --config, the journal of that config's device (state_dir, dev.name); with
 * --state-dir (default the client default), every journal of this network
 * namespace there. A journal whose client still runs is refused. Running it
 * again, or with nothing left behind, changes nothing.
 *
 * Exit codes: 0 restored or nothing to do, 1 a journal could not be read or
 * replayed (it is kept), 2 usage or configuration error.
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { currentNetnsInode, journalPath } from "../client/host_journal.ts";
import { restoreFromJournal } from "../client/journal_replay.ts";
import { ConfigError } from "../config/config_error.ts";
import { loadConfigOrProfile } from "../config/load.ts";
import { DEFAULTS } from "../config/schema.ts";
import type { NetConfig } from "../device/net_config.ts";
import { pathExists } from "../fs/path_exists.ts";
import { Logger } from "../log/log.ts";
import { UsageError } from "./command_io.ts";

export interface CleanupIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** The host to restore. @default rtnetlink in this namespace */
  net?: NetConfig;
}

export interface CleanupOptions {
  config?: string;
  stateDir?: string;
}

/** The journals to replay: the config's one, or every journal of this namespace in the state directory. */
async function journalsToReplay(options: CleanupOptions): Promise<{ dir: string; paths: string[] }> {
  const netns = await currentNetnsInode();
  if (options.config !== undefined) {
    let config;
    try {
      config = (await loadConfigOrProfile(options.config)).config;
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    if (config.mode !== "client") throw new UsageError(`${options.config}: mode: expected client`);
    const path = journalPath(config.stateDir, config.dev.name, netns);
    return { dir: config.stateDir, paths: await pathExists(path) ? [path] : [] };
  }
  const dir = options.stateDir ?? DEFAULTS.clientStateDir;
  const suffix = `-net${netns}.jsonl`;
  const paths: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.startsWith("host-") && entry.name.endsWith(suffix)) {
        paths.push(`${dir}/${entry.name}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return { dir, paths: paths.sort() };
}

/** Replays every journal found; the first failure ends the command (its journal is kept). */
export async function runCleanup(options: CleanupOptions, io: CleanupIo): Promise<number> {
  if (options.config !== undefined && options.stateDir !== undefined) {
    throw new UsageError("--config and --state-dir cannot be combined (the config names its state_dir)");
  }
  const { dir, paths } = await journalsToReplay(options);
  if (paths.length === 0) {
    io.out(`Nothing to clean up: no host journal for this network namespace in ${dir}\n`);
    return 0;
  }
  const log = new Logger({ level: "warn", scope: "cleanup", sink: (line) => io.err(line + "\n") });
  const net = io.net ?? openNetlink();
  let found = 0;
  try {
    for (const path of paths) {
      const result = await restoreFromJournal(path, net, log);
      if (!result) continue;
      found++;
      io.out(`Restored ${result.restored} host change(s) a client left behind (${path})\n`);
    }
  } finally {
    if (!io.net) net.close();
  }
  if (found === 0) io.out(`Nothing to clean up: no host journal for this network namespace in ${dir}\n`);
  return 0;
}
