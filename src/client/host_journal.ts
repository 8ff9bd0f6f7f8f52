/**
 * The journal of host changes: what host_changes.ts is about to change, one
 * JSON line each, appended and fsynced before the change is made, so a
 * client killed with `kill -9` leaves behind exactly what to undo. The next
 * start (client.ts) and `tsvpn client cleanup` replay it newest first
 * (journal_replay.ts), then remove it; a clean stop removes it too.
 *
 * One journal per tun device and network namespace:
 * `<state_dir>/host-<dev>-net<inode>.jsonl` (the namespace's inode from
 * /proc/self/ns/net), since that pair names the host state a client owns.
 * The first line names the writing process (pid and start time), so a
 * journal whose writer still runs is never replayed from under it.
 *
 * Lines:
 *   {"t":"start","pid":P,"started":S}     the writer
 *   {"t":"do","item":PlanItem}            about to add an address/route or take a route away
 *   {"t":"skip","key":K}                  that change was not made (already there / nothing to take)
 *   {"t":"undo","key":K}                  that change was undone
 *   {"t":"mtu","dev":D,"previous":N}      about to set the device's MTU (undo: back to N)
 *   {"t":"up","dev":D}                    about to set the device up (undo: down)
 *   {"t":"dns","path":P}                  about to write resolv.conf P (undo: resolv_conf.ts
 *                                         recoverResolvConf, from the copy saved beside it)
 *   {"t":"undo-mtu"} / {"t":"undo-up"} / {"t":"undo-dns"}   those were undone
 *
 * A crash between a "do" line and its change leaves a line whose undo finds
 * nothing to undo; undoing is idempotent (host_changes.ts undoPlanItem).
 */

import { ensurePrivateDir } from "../fs/safe_file.ts";
import type { PlanItem } from "./host_plan_types.ts";

export type JournalEntry =
  | { t: "start"; pid: number; started: number }
  | { t: "do"; item: PlanItem }
  | { t: "skip"; key: string }
  | { t: "undo"; key: string }
  | { t: "mtu"; dev: string; previous: number }
  | { t: "up"; dev: string }
  | { t: "dns"; path: string }
  | { t: "undo-mtu" }
  | { t: "undo-up" }
  | { t: "undo-dns" };

/** Where host_changes.ts reports each change before and after making it. */
export interface ChangeJournal {
  record(entry: JournalEntry): Promise<void>;
}

/** The process that writes a journal: pid and its start time (/proc/PID/stat field 22). */
export interface ProcessId {
  pid: number;
  started: number;
}

/** The journal's file for `dev` in the network namespace `netnsInode`. */
export function journalPath(stateDir: string, dev: string, netnsInode: number): string {
  return `${stateDir}/host-${dev}-net${netnsInode}.jsonl`;
}

/** The inode of this process's network namespace ("net:[4026531840]" → 4026531840). */
export async function currentNetnsInode(): Promise<number> {
  const link = await Deno.readLink("/proc/self/ns/net");
  const match = /\[(\d+)\]/.exec(link);
  if (!match) throw new Error(`Cannot read the network namespace from /proc/self/ns/net ("${link}")`);
  return Number(match[1]);
}

/** pid and start time of `pid` (default: this process); null when no such process runs. */
export async function processId(pid = Deno.pid): Promise<ProcessId | null> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pid, started: Number(fields[19]) };
}

/** True when the process that wrote `owner` still runs (same pid, same start time). */
export async function isRunning(owner: ProcessId): Promise<boolean> {
  const now = await processId(owner.pid);
  return now !== null && now.started === owner.started;
}

/** An append-only journal file; each record is written and fsynced before it resolves. */
export class HostJournal implements ChangeJournal {
  readonly path: string;
  #file: Deno.FsFile | null = null;
  readonly #encoder = new TextEncoder();

  constructor(path: string) {
    this.path = path;
  }

  /** Creates the file (mode 0600, its directory 0700) and records `owner` as its writer. */
  async start(owner: ProcessId): Promise<void> {
    await ensurePrivateDir(this.path.slice(0, this.path.lastIndexOf("/")) || "/");
    // A new file (O_EXCL): never written through a link planted at its name.
    await Deno.remove(this.path).catch(() => {});
    this.#file = await Deno.open(this.path, { write: true, createNew: true, mode: 0o600 });
    await this.record({ t: "start", pid: owner.pid, started: owner.started });
  }

  async record(entry: JournalEntry): Promise<void> {
    if (!this.#file) throw new Error(`The host journal ${this.path} is not open`);
    const bytes = this.#encoder.encode(JSON.stringify(entry) + "\n");
    let written = 0;
    while (written < bytes.length) written += await this.#file.write(bytes.subarray(written));
    await this.#file.syncData();
  }

  /** Closes the file; `remove`: everything was undone, nothing is left to replay. */
  async close(remove: boolean): Promise<void> {
    this.#file?.close();
    this.#file = null;
    if (remove) await Deno.remove(this.path).catch(() => {});
  }
}
