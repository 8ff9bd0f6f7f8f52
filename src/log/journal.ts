/**
 * Whether stderr is the systemd journal: systemd sets JOURNAL_STREAM to the
 * "DEVICE:INODE" of the stream it connected to stderr, and a process that
 * still has that stream as stderr (not redirected by a wrapper) writes
 * sd-daemon style lines — a `<N>` syslog priority prefix, no timestamp (the
 * journal stamps each line itself).
 */

/** sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG, by log level. */
export const JOURNAL_PRIORITY: Readonly<Record<"error" | "warn" | "info" | "debug", string>> = {
  error: "<3>",
  warn: "<4>",
  info: "<6>",
  debug: "<7>",
};

/** The device and inode of a file (what JOURNAL_STREAM names). */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** True when `journalStream` (JOURNAL_STREAM's value) names `stderr`. */
export function isJournalStream(journalStream: string | undefined, stderr: FileIdentity | null): boolean {
  if (!journalStream || !stderr) return false;
  const m = /^([0-9]+):([0-9]+)$/.exec(journalStream);
  return m !== null && Number(m[1]) === stderr.dev && Number(m[2]) === stderr.ino;
}

/** This process' stderr is the journal (read once: JOURNAL_STREAM and fd 2 through /proc). */
export function stderrIsJournal(): boolean {
  let stream: string | undefined;
  try {
    stream = Deno.env.get("JOURNAL_STREAM");
  } catch {
    return false; // No --allow-env: not a service.
  }
  if (!stream) return false;
  try {
    const st = Deno.statSync("/proc/self/fd/2");
    return isJournalStream(stream, st.dev !== null && st.ino !== null ? { dev: st.dev, ino: st.ino } : null);
  } catch {
    return false;
  }
}
