/** Linux interface-name rules (IFNAMSIZ and dev_valid_name), checked before any syscall. */

/** Longest interface name in bytes (IFNAMSIZ - 1). */
export const MAX_IFNAME_BYTES = 15;

/** Throws a one-line Error when `name` cannot be a Linux interface name. */
export function validateIfName(name: string): void {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0) throw new Error("Interface name is empty");
  if (bytes > MAX_IFNAME_BYTES) {
    throw new Error(`Interface name "${name}" is too long (${bytes} bytes, at most ${MAX_IFNAME_BYTES})`);
  }
  if (name === "." || name === ".." || /[\s/:]/.test(name)) {
    throw new Error(`Interface name "${name}" is invalid (no "/", ":", whitespace, "." or "..")`);
  }
}
