/**
 * Puts the host back from a journal left by a client that did not stop
 * cleanly (host_journal.ts): the changes still in place according to the
 * journal are undone newest first, exactly as the client's own stop would
 * have (host_changes.ts undoPlanItem), then the journal is removed. Used at
 * start-up (client.ts) and by `tsvpn client cleanup` (src/cli/client_cleanup.ts).
 *
 * Idempotent: a change that is already gone counts as undone, so a replay cut
 * short by another crash is simply replayed again. A journal whose writer
 * still runs is refused, never replayed from under a live client.
 */

import type { NetConfig } from "../device/net_config.ts";
import type { Logger } from "../log/log.ts";
import { undoLinkChange, undoPlanItem } from "./host_changes.ts";
import {
  currentNetnsInode,
  HostJournal,
  isRunning,
  type JournalEntry,
  journalPath,
  type ProcessId,
  processId,
} from "./host_journal.ts";
import { itemKey } from "./host_plan.ts";
import { recoverResolvConf } from "./resolv_conf.ts";
import type { PlanItem } from "./host_plan_types.ts";

export type PendingChange =
  | { kind: "item"; key: string; item: PlanItem }
  | { kind: "mtu"; dev: string; previous: number }
  | { kind: "up"; dev: string }
  | { kind: "dns"; path: string };

export interface ParsedJournal {
  owner: ProcessId | null;
  /** Changes still in place, oldest first. */
  pending: PendingChange[];
}

const KINDS = new Set(["start", "do", "skip", "undo", "mtu", "up", "dns", "undo-mtu", "undo-up", "undo-dns"]);

/** The changes a journal says are in place. A torn last line (a crash mid-write) is ignored. */
export function parseJournal(text: string, path: string): ParsedJournal {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let owner: ProcessId | null = null;
  const pending: PendingChange[] = [];
  for (const [i, line] of lines.entries()) {
    const entry = parseEntry(line);
    if (!entry) {
      if (i === lines.length - 1) break;
      throw new Error(`${path}:${i + 1}: not a tsvpn host journal line`);
    }
    if (entry.t === "start") owner = { pid: entry.pid, started: entry.started };
    else applyEntry(pending, entry);
  }
  return { owner, pending };
}

function parseEntry(line: string): JournalEntry | null {
  let value: JournalEntry;
  try {
    value = JSON.parse(line) as JournalEntry;
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || !KINDS.has(value.t)) return null;
  return value.t !== "do" || isPlanItem(value.item) ? value : null;
}

/** The shape undoPlanItem needs: a known kind and a spec with its address or destination. */
function isPlanItem(item: unknown): item is PlanItem {
  const i = item as { kind?: unknown; spec?: Record<string, unknown> } | null;
  if (typeof i !== "object" || i === null || typeof i.spec !== "object" || i.spec === null) return false;
  if (i.kind === "address") return typeof i.spec.address === "string" && typeof i.spec.dev === "string";
  return (i.kind === "route" || i.kind === "suppress") && typeof i.spec.dst === "string";
}

function applyEntry(pending: PendingChange[], entry: Exclude<JournalEntry, { t: "start" }>): void {
  const dropLast = (match: (c: PendingChange) => boolean) => {
    const i = pending.findLastIndex(match);
    if (i >= 0) pending.splice(i, 1);
  };
  switch (entry.t) {
    case "do":
      pending.push({ kind: "item", key: itemKey(entry.item), item: entry.item });
      return;
    case "mtu":
      if (!pending.some((c) => c.kind === "mtu")) pending.push({ kind: "mtu", ...entry });
      return;
    case "up":
      pending.push({ kind: "up", dev: entry.dev });
      return;
    case "dns":
      pending.push({ kind: "dns", path: entry.path });
      return;
    case "skip":
    case "undo":
      dropLast((c) => c.kind === "item" && c.key === entry.key);
      return;
    case "undo-mtu":
      dropLast((c) => c.kind === "mtu");
      return;
    case "undo-up":
      dropLast((c) => c.kind === "up");
      return;
    case "undo-dns":
      dropLast((c) => c.kind === "dns");
  }
}

/** Undoes `pending` newest first; returns the failures (each logged), never throws. */
export async function undoPending(pending: PendingChange[], net: NetConfig, log: Logger): Promise<string[]> {
  const failures: string[] = [];
  for (const change of [...pending].reverse()) {
    try {
      await undoChange(change, net, log);
      log.info("restored", { change: describe(change) });
    } catch (e) {
      const reason = (e as Error).message;
      log.warn("could not undo a change left by an earlier run", { error: reason });
      failures.push(reason);
    }
  }
  return failures;
}

async function undoChange(change: PendingChange, net: NetConfig, log: Logger): Promise<void> {
  if (change.kind === "item") await undoPlanItem(net, change.item);
  else if (change.kind === "mtu") await undoLinkChange(() => net.setMtu(change.dev, change.previous));
  else if (change.kind === "up") await undoLinkChange(() => net.setLinkUp(change.dev, false));
  else await recoverResolvConf(change.path, log);
}

function describe(change: PendingChange): string {
  if (change.kind === "item") return change.key;
  return change.kind === "dns" ? `resolv.conf ${change.path}` : `${change.kind} ${change.dev}`;
}

export interface RestoreResult {
  /** Changes the journal still held (each undone or found already gone). */
  restored: number;
}

/**
 * Restores the host from the journal at `path`; null when there is none.
 * Throws (changing nothing) when its writer still runs or it cannot be read,
 * and after undoing when some change could not be undone (the journal stays
 * for another try).
 */
export async function restoreFromJournal(
  path: string,
  net: NetConfig,
  log: Logger,
  writerRuns: (owner: ProcessId) => Promise<boolean> = isRunning,
): Promise<RestoreResult | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot read the host journal ${path}: ${(e as Error).message}`);
  }
  const journal = parseJournal(text, path);
  if (journal.owner && journal.owner.pid !== Deno.pid && await writerRuns(journal.owner)) {
    throw new Error(
      `The host journal ${path} belongs to a running tsvpn client (pid ${journal.owner.pid}); stop it first`,
    );
  }
  const failures = await undoPending(journal.pending, net, log);
  if (failures.length > 0) {
    throw new Error(
      `Could not restore ${failures.length} host change(s) from ${path} (kept for another try): ${
        failures[0]
      }`,
    );
  }
  await Deno.remove(path);
  return { restored: journal.pending.length };
}

/**
 * The journal of a client run for `dev` in this network namespace: first
 * whatever an earlier run left behind is put back, then a fresh journal
 * naming this process is started.
 */
export async function openHostJournal(
  stateDir: string,
  dev: string,
  net: NetConfig,
  log: Logger,
): Promise<HostJournal> {
  const path = journalPath(stateDir, dev, await currentNetnsInode());
  const restored = await restoreFromJournal(path, net, log);
  if (restored) {
    log.warn("restored the host changes an earlier run left behind", {
      journal: path,
      changes: restored.restored,
    });
  }
  const self = await processId();
  if (!self) throw new Error("Cannot read /proc/self/stat for the host journal");
  const journal = new HostJournal(path);
  try {
    await journal.start(self);
  } catch (e) {
    throw new Error(
      `Cannot keep the host journal in ${stateDir}: ${(e as Error).message} (state_dir must be writable)`,
    );
  }
  return journal;
}
