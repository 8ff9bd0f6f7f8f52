/**
 * The server's username/password decision, deferred: the registry's authorize step awaits it while
 * the data plane and other sessions go on. In order (OpenVPN's): a valid auth-token stands in for the
 * password (the script is not run again, so a 2FA code is asked once); otherwise the auth script
 * (auth_script.ts); then, with `management.client_auth`, the management client (`client-auth` /
 * `client-deny`, management_client_auth.ts in src/ops). Every refusal reaches the client as
 * AUTH_FAILED; the password is never logged and no copy is kept.
 */

import type { PeerContext } from "../control/listener.ts";
import type { AuthDecision, AuthRequest, PeerIdentity } from "../control/session.ts";
import type { Logger } from "../log/log.ts";
import type { AuthConfig } from "../config/schema.ts";
import type { ClientAuthGate } from "../ops/client_auth_gate.ts";
import { authScriptEnv, type AuthScriptSubject, remapUsername } from "./auth_script.ts";
import { AuthTokens, isAuthToken, parseAuthTokenSecret } from "./auth_token.ts";
import { AuthScript } from "./auth_script.ts";
import type { ClientRegistryOptions } from "./client_registry.ts";

export interface UserAuthOptions {
  script: AuthScript | null;
  tokens: AuthTokens | null;
  /** management.client_auth: every decision also needs the management gate. */
  gated: boolean;
  /** The management gate, once the interface is up. */
  gate: () => ClientAuthGate | null;
  log: Logger;
}

/** What one session's token is bound to. */
interface TokenState {
  sessionId: string;
  initialS: number;
  token: string;
}

export class UserAuth {
  readonly #o: UserAuthOptions;
  /** Per session (its listener context), once a token was issued. */
  readonly #tokens = new WeakMap<PeerContext, TokenState>();
  /** Per session: options the management client's `client-auth` block pushes. */
  readonly #pushes = new WeakMap<PeerContext, string[]>();

  constructor(o: UserAuthOptions) {
    this.#o = o;
  }

  /** The decision for one key-method 2 (the first of a session, or a renegotiation's). */
  async decide(peer: PeerIdentity, ctx: PeerContext, auth: AuthRequest): Promise<AuthDecision> {
    const o = this.#o;
    const subject: AuthScriptSubject = {
      username: auth.username,
      password: auth.password,
      commonName: peer.commonName,
      remote: ctx.remote,
      peerInfo: peer.peerInfo,
      serial: peer.serial,
    };
    const first = o.script || o.tokens
      ? await this.#checkPassword(subject, ctx, auth)
      : { ok: true as const };
    if (!first.ok) return first;
    if (!o.gated) return first;
    const gate = o.gate();
    if (!gate) return { ok: false, reason: "server is not ready to authenticate" };
    const env = authScriptEnv(subject);
    delete env.script_type;
    env.username = remapUsername(auth.username);
    const decision = await gate.decide(auth.initial ? "CONNECT" : "REAUTH", ctx.peerId, auth.keyId, env);
    if (!decision.ok) return decision;
    if (auth.initial) this.#pushes.set(ctx, clientAuthPushes(decision.config, o.log));
    return { ok: true };
  }

  /** Options for this session's PUSH_REPLY: the auth-token, and `push` lines from client-auth. */
  pushExtra(ctx: PeerContext): string[] {
    const token = this.#tokens.get(ctx)?.token;
    return [...(token ? [`auth-token ${token}`] : []), ...(this.#pushes.get(ctx) ?? [])];
  }

  /** The token to push to this session (after a successful decision), or null. */
  tokenFor(ctx: PeerContext): string | null {
    return this.#tokens.get(ctx)?.token ?? null;
  }

  async #checkPassword(s: AuthScriptSubject, ctx: PeerContext, auth: AuthRequest): Promise<AuthDecision> {
    const { script, tokens, log } = this.#o;
    if (auth.username === "" && auth.password === "") {
      log.warn("client sent no username and password", { cn: s.commonName, remote: ctx.remote });
      return { ok: false, reason: "username and password required" };
    }
    if (tokens && isAuthToken(auth.password)) return this.#checkToken(tokens, s, ctx, auth);
    if (script) {
      const held = this.#tokens.get(ctx);
      s.session = tokens ? { state: "Initial", id: held?.sessionId ?? "" } : undefined;
      const verdict = await script.check(s);
      if (!verdict.ok) return verdict;
    }
    if (tokens) this.#issue(tokens, s, ctx, this.#tokens.get(ctx) ?? null);
    return { ok: true };
  }

  #checkToken(tokens: AuthTokens, s: AuthScriptSubject, ctx: PeerContext, auth: AuthRequest): AuthDecision {
    const log = this.#o.log;
    const r = tokens.check(auth.password, auth.username, s.commonName);
    const held = this.#tokens.get(ctx);
    if (r.status !== "valid") {
      log.warn(`auth-token ${r.status}`, { cn: s.commonName, username: remapUsername(auth.username) });
      return {
        ok: false,
        reason: r.status === "expired" ? "SESSION: token expired" : "authentication failed",
      };
    }
    // A renegotiation must present this session's own token; a new session may resume an older one.
    if (!auth.initial && held && held.sessionId !== r.sessionId) {
      log.warn("auth-token of another session", { cn: s.commonName });
      return { ok: false, reason: "authentication failed" };
    }
    log.info("auth-token accepted", { cn: s.commonName, username: remapUsername(auth.username) });
    s.session = { state: "Authenticated", id: r.sessionId };
    this.#issue(tokens, s, ctx, { sessionId: r.sessionId, initialS: r.initialS, token: auth.password });
    return { ok: true };
  }

  #issue(tokens: AuthTokens, s: AuthScriptSubject, ctx: PeerContext, renew: TokenState | null): void {
    const token = tokens.issue(s.username, s.commonName, renew ?? undefined);
    const check = tokens.check(token, s.username, s.commonName);
    if (check.status !== "valid") return;
    this.#tokens.set(ctx, { sessionId: check.sessionId, initialS: check.initialS, token });
  }
}

/** The UserAuth for `auth` (null without one and without a management gate). */
export async function openUserAuth(
  auth: AuthConfig | null,
  gated: boolean,
  gate: () => ClientAuthGate | null,
  log: Logger,
): Promise<UserAuth | null> {
  if (!auth && !gated) return null;
  const script = auth
    ? new AuthScript({ script: auth.script, method: auth.method, timeoutMs: auth.timeoutS * 1000, log })
    : null;
  let tokens: AuthTokens | null = null;
  if (auth?.token) {
    const file = auth.token.secretFile;
    const secret = file
      ? parseAuthTokenSecret(await Deno.readTextFile(file))
      : crypto.getRandomValues(new Uint8Array(32));
    tokens = new AuthTokens({
      secret,
      lifetimeS: auth.token.lifetimeS,
      now: () => Date.now() / 1000,
      random: (n) => crypto.getRandomValues(new Uint8Array(n)),
    });
  }
  return new UserAuth({ script, tokens, gated, gate, log });
}

/** The registry's hooks for `ua` (none without it): the decision, the pushed token, the management events. */
export function registryAuthHooks(
  ua: UserAuth | null,
  gate: () => ClientAuthGate | null,
): Pick<ClientRegistryOptions, "userAuth" | "pushExtra" | "clientEvents"> {
  if (!ua) return {};
  return {
    userAuth: (peer, ctx, auth) => ua.decide(peer, ctx, auth),
    pushExtra: (ctx) => ua.pushExtra(ctx),
    clientEvents: {
      established: (cid, env) => gate()?.established(cid, env),
      disconnected: (cid, env) => gate()?.disconnected(cid, env),
    },
  };
}

/**
 * The `push "OPTION"` lines of a client-auth block, as push options; other client-connect directives
 * (ifconfig-push, iroute, disable…) are logged and not applied. An option with a comma or a control
 * character (it would split or break the PUSH_REPLY) is dropped.
 */
export function clientAuthPushes(config: string[], log: Logger): string[] {
  const out: string[] = [];
  for (const line of config) {
    const text = line.trim();
    if (text === "" || text.startsWith("#") || text.startsWith(";")) continue;
    const m = /^push\s+(?:"([^"]*)"|(\S.*))$/.exec(text);
    const option = m?.[1] ?? m?.[2] ?? "";
    // deno-lint-ignore no-control-regex
    if (m && option.trim() !== "" && !/[,\x00-\x1f\x7f]/.test(option)) out.push(option.trim());
    else log.warn('client-auth line not applied (only push "…" lines are)', { line: text.slice(0, 80) });
  }
  return out;
}
