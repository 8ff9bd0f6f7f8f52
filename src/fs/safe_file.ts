/**
 * Files written so that nobody who can plant a symlink or race the writer
 * gets a say: every write goes to a fresh temporary file beside the target,
 * created with O_CREAT|O_EXCL (Deno's `createNew`, which also refuses a
 * symlink as the last path component, dangling or not) and with its final
 * mode from the first byte; the data is fsynced; then the file takes the
 * target's name:
 *
 * - `writeFileAtomic`: rename(2) over the target; a symlink at the target is
 *   replaced itself, its target never written. Readers see the old or the
 *   new file, never half of one, and after a crash the old one survives.
 * - `writeFileExclusive`: link(2), which fails when the target exists (as a
 *   file or a symlink), so a secret is never written over anything, and a
 *   crash never leaves a half-written file under the target's name.
 *
 * Something already at the temporary name (a crash's leftover, or a planted
 * symlink) is unlinked, never followed, and creation is retried once. The
 * directory is fsynced after the rename, so the new name survives a crash.
 */

export interface SafeWriteOptions {
  /** Mode of the new file, exactly (the umask does not apply). @default 0o600 */
  mode?: number;
}

const encoder = new TextEncoder();

function tempPath(path: string): string {
  return `${path}.tmp-${Deno.pid}`;
}

/**
 * Opens a new file at `tmp` with exactly `mode`. The umask is never changed: it is process-wide, and
 * Deno's async file operations run on other threads, so a lifted umask would leave their files
 * world-writable. The open applies the umask (it can only remove bits); chmod then sets the mode.
 * The name was just created by this O_EXCL open in the caller's directory, so only someone who can
 * already write that directory could swap it before the chmod.
 */
function createExclusive(tmp: string, mode: number): Deno.FsFile {
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode });
  try {
    Deno.chmodSync(tmp, mode);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

async function createTemp(tmp: string, mode: number): Promise<Deno.FsFile> {
  try {
    return createExclusive(tmp, mode);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  // Unlinks a file or symlink (never its target); a directory there stays and fails the retry.
  await Deno.remove(tmp).catch(() => {});
  return createExclusive(tmp, mode);
}

async function syncDirectory(path: string): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Best effort: some file systems refuse fsync on directories.
  }
}

/** Writes `data` to a new temporary file beside `path`, fsynced, then hands it to `place(tmp)`. */
async function writeVia(
  path: string,
  data: string | Uint8Array,
  options: SafeWriteOptions,
  place: (tmp: string) => Promise<void>,
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const tmp = tempPath(path);
  const file = await createTemp(tmp, options.mode ?? 0o600);
  let placed = false;
  try {
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      await file.sync();
    } finally {
      file.close();
    }
    await place(tmp);
    placed = true;
  } finally {
    if (!placed) await Deno.remove(tmp).catch(() => {});
  }
  await syncDirectory(path);
}

/** Replaces `path` atomically with `data` (see the module comment). */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: SafeWriteOptions = {},
): Promise<void> {
  return writeVia(path, data, options, (tmp) => Deno.rename(tmp, path));
}

/**
 * Creates `path` with `data`, complete or not at all; rejects with
 * Deno.errors.AlreadyExists when anything (a symlink included) is there.
 */
export function writeFileExclusive(
  path: string,
  data: string | Uint8Array,
  options: SafeWriteOptions = {},
): Promise<void> {
  return writeVia(path, data, options, async (tmp) => {
    await Deno.link(tmp, path);
    await Deno.remove(tmp);
  });
}

/**
 * Creates directory `path` (and parents) or, when it exists, makes sure it
 * is a directory; either way it ends with exactly `mode` (a state directory
 * made 0755 by hand is closed to other users again).
 */
export async function ensurePrivateDir(path: string, mode = 0o700): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode });
  const info = await Deno.stat(path);
  if (!info.isDirectory) throw new Error(`${path} is not a directory`);
  await Deno.chmod(path, mode);
}
