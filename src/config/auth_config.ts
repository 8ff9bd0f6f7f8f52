/**
 * `server.auth` (OpenVPN's auth-user-pass-verify and auth-gen-token) and the client's `auth`
 * (OpenVPN's auth-user-pass): username/password authentication on top of certificates.
 */

import { AUTH_KEYS, AUTH_TOKEN_KEYS, CLIENT_AUTH_KEYS } from "./keys.ts";
import type { MapView } from "./yaml_reader.ts";

export type AuthScriptMethod = "via-env" | "via-file";
export const AUTH_SCRIPT_METHODS: readonly AuthScriptMethod[] = ["via-env", "via-file"];

/** Default seconds an auth script may run before the client is refused. */
export const DEFAULT_AUTH_TIMEOUT_S = 30;
/** Longest auth script timeout: the answer must reach the client within the 60 s handshake window. */
const MAX_AUTH_TIMEOUT_S = 55;

export interface AuthTokenConfig {
  /** Seconds a token stays valid from the first authentication; 0 = as long as the server runs. */
  lifetimeS: number;
  /** File with the HMAC secret (OpenVPN's auth-gen-token-secret PEM); null = random per server start. */
  secretFile: string | null;
}

export interface AuthConfig {
  /** Program run to check a username and password (exit 0 accepts); path resolved. */
  script: string;
  method: AuthScriptMethod;
  /** Seconds the script may run; a script still running after it is killed and the client refused. */
  timeoutS: number;
  /** null = no auth-token: every renegotiation runs the script again (OpenVPN's default). */
  token: AuthTokenConfig | null;
}

/** The client's `auth`: where its username and password come from. */
export interface ClientAuthConfig {
  /** File whose first line is the username, second the password (OpenVPN's auth-user-pass file). */
  userPassFile: string;
}

/** Reads `server.auth` from the `server:` map; absent means certificates only. */
export function readServerAuth(server: MapView): AuthConfig | null {
  const f = server.opt("auth");
  if (!f) return null;
  const m = f.map(AUTH_KEYS);
  const method = m.opt("method");
  const timeout = m.opt("timeout");
  return {
    script: m.req("script").filePath(),
    method: method ? method.oneOf(AUTH_SCRIPT_METHODS) : "via-env",
    timeoutS: timeout
      ? timeout.int(
        1,
        MAX_AUTH_TIMEOUT_S,
        `a whole number of seconds from 1 to ${MAX_AUTH_TIMEOUT_S} (within the 60 s handshake window)`,
      )
      : DEFAULT_AUTH_TIMEOUT_S,
    token: readToken(m),
  };
}

/** `token`, or `auth_token` (the issue's and OpenVPN administrators' name for it); not both. */
function readToken(auth: MapView): AuthTokenConfig | null {
  const alias = auth.opt("auth_token");
  if (alias && auth.opt("token")) {
    alias.fail("expected token or auth_token, not both (they are the same option)");
  }
  const f = auth.opt("token") ?? alias;
  if (!f) return null;
  if (f.scalar() === false) return null;
  if (f.scalar() === true) return { lifetimeS: 0, secretFile: null };
  const m = f.map(AUTH_TOKEN_KEYS);
  const lifetime = m.opt("lifetime");
  const secret = m.opt("secret_file");
  return {
    lifetimeS: lifetime ? lifetime.int(0, 2 ** 31 - 1, "0 (no limit) or a whole number of seconds") : 0,
    secretFile: secret ? secret.filePath() : null,
  };
}

/** Reads a client config's `auth`; absent means certificates only. */
export function readClientAuth(root: MapView): ClientAuthConfig | null {
  const f = root.opt("auth");
  if (!f) return null;
  const m = f.map(CLIENT_AUTH_KEYS);
  return { userPassFile: m.req("user_pass_file").filePath() };
}
