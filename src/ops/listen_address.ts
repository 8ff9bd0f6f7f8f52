/**
 * Management addresses as users type them: "HOST:PORT" ("[::1]:7505" for
 * IPv6) or a unix socket path starting with "/", "./" or "../" (the same
 * grammar as the config key management.listen).
 */

export type ManagementAddress =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string };

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (host.includes(":")) {
    try {
      return new URL(`http://[${host}]/`).hostname === "[::1]";
    } catch {
      return false;
    }
  }
  const parts = host.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * Parses a management address. With `listening` (the server side) a TCP
 * host outside 127.0.0.0/8, ::1 and localhost is refused — the interface's
 * password (when set) is sent in clear, so it must never face a network —
 * and port 0 (any free port) is allowed.
 */
export function parseManagementAddress(
  text: string,
  options: { listening?: boolean } = {},
): ManagementAddress {
  if (text.startsWith("/") || text.startsWith("./") || text.startsWith("../")) {
    return { kind: "unix", path: text };
  }
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (m === null) {
    throw new RangeError(
      `Invalid management address "${text}": expected HOST:PORT or a unix socket path starting with / or ./`,
    );
  }
  const port = Number(m[2]);
  if (port < (options.listening ? 0 : 1) || port > 65535) {
    throw new RangeError(`Invalid management address "${text}": port must be 1 to 65535`);
  }
  if (options.listening && !isLoopbackHost(m[1])) {
    throw new RangeError(
      `Refusing management address "${text}": the management interface listens on loopback only (127.0.0.0/8, ::1 or localhost) or a unix socket`,
    );
  }
  return { kind: "tcp", host: m[1], port };
}

/** The text form parseManagementAddress() reads back. */
export function formatManagementAddress(addr: ManagementAddress): string {
  if (addr.kind === "unix") return addr.path;
  return addr.host.includes(":") ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}
