/**
 * The client's recorder of host changes (host_changes.ts), with what it needs
 * before the first change: resolv.conf put back if an earlier run died with it
 * rewritten (pull.dns resolv.conf), and the journal that lets the next start undo
 * what this run leaves behind if it is killed (journal_replay.ts).
 */

import type { ClientConfig } from "../config/schema.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { Logger } from "../log/log.ts";
import type { ClientOptions } from "./client_types.ts";
import { HostChanges } from "./host_changes.ts";
import type { HostJournal } from "./host_journal.ts";
import { openHostJournal } from "./journal_replay.ts";
import { recoverResolvConf, ResolvConfFile } from "./resolv_conf.ts";

export interface ClientHost {
  host: HostChanges;
  /** Closed at shutdown; null when the run keeps none. */
  journal: HostJournal | null;
}

/** The recorder of host changes over `net` (with resolv.conf when pull.dns says so) and its journal. */
export async function openClientHost(
  net: NetConfig,
  config: ClientConfig,
  options: ClientOptions,
  log: Logger,
): Promise<ClientHost> {
  let dns: ResolvConfFile | null = null;
  if (config.pull.dns === "resolv.conf") {
    const path = options.resolvConfPath ?? "/etc/resolv.conf";
    await recoverResolvConf(path, log);
    dns = new ResolvConfFile(path, log);
  }
  const journal = await openJournal(net, config, options, log);
  return { host: new HostChanges(net, { log: log.child("host"), dns, journal }), journal };
}

/**
 * Puts back what an earlier run killed before its stop left on the host
 * (journal_replay.ts), then starts this run's journal; null without one.
 */
async function openJournal(
  net: NetConfig,
  config: ClientConfig,
  options: ClientOptions,
  log: Logger,
): Promise<HostJournal | null> {
  const dir = options.journalDir !== undefined ? options.journalDir : (options.net ? null : config.stateDir);
  if (dir === null) return null;
  return await openHostJournal(dir, config.dev.name, net, log.child("host"));
}
