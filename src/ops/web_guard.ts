/**
 * The status page's guards (docs/observability.md "The status page"), each a
 * pure check on a request's parts so they are tested without a listener:
 *
 * - who: loopback peers only unless the page is opened to remote ones;
 * - Host: an IP literal or localhost, so a DNS-rebound name cannot make the
 *   page same-origin with an attacker's site;
 * - password: HTTP basic auth with the management password when one is set
 *   (any user name), compared in constant time;
 * - kill: POST only, an Origin equal to the page's own, and the CSRF token
 *   the page was served with.
 */

import { isLoopback, parseIp } from "../addr/ip.ts";
import { passwordMatches } from "./management_guard.ts";

/** True when `host` (a peer's address, no port) may see the page. */
export function peerAllowed(host: string, remoteAllowed: boolean): boolean {
  if (remoteAllowed) return true;
  const ip = parseIp(host.replace(/^\[|\]$/g, ""));
  return ip !== null && isLoopback(ip);
}

/** The Host header without its port when it names an IP literal or localhost, else null. */
export function literalHost(header: string | null): string | null {
  if (!header) return null;
  const m = /^\[([0-9a-fA-F:.]+)\](?::[0-9]{1,5})?$/.exec(header) ??
    /^([^:\[\]]+)(?::[0-9]{1,5})?$/.exec(header);
  if (!m) return null;
  const host = m[1].toLowerCase();
  if (host === "localhost") return host;
  return parseIp(host) !== null ? host : null;
}

/** True when no password is set, or the Authorization header carries it (HTTP basic, any user). */
export function basicAuthOk(header: string | null, password: string | null): boolean {
  if (password === null) return true;
  const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(header ?? "");
  if (!m) return false;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)),
    );
  } catch {
    return false;
  }
  const colon = decoded.indexOf(":");
  return colon >= 0 && passwordMatches(decoded.slice(colon + 1), password);
}

export interface PostCheck {
  method: string;
  /** The request's Origin header. */
  origin: string | null;
  /** The request's Host header. */
  host: string | null;
  /** Sec-Fetch-Site, when the browser sent one. */
  fetchSite: string | null;
  /** The token the form carried. */
  token: string | null;
}

/** Why a state-changing request is refused, or null when it may proceed. */
export function postRefusal(c: PostCheck, expectedToken: string): string | null {
  if (c.method !== "POST") return "POST only";
  if (c.origin === null || c.host === null || c.origin !== `http://${c.host}`) return "cross-origin request";
  if (c.fetchSite !== null && c.fetchSite !== "same-origin") return "cross-site request";
  if (c.token === null || !passwordMatches(c.token, expectedToken)) return "missing or wrong CSRF token";
  return null;
}
