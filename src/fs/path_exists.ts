/**
 * Whether anything is at `path`: a file, a directory, or a symlink (dangling
 * or not; it is not followed, so a planted link counts as taken). Only "not
 * found" is false; any other failure (a path through a file, no permission)
 * is thrown, so a caller never mistakes an unreadable place for a free one.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
