/**
 * `tsvpn import openvpn`: the username/password options of a server.conf into `server.auth`
 * (auth-user-pass-verify, auth-gen-token, auth-gen-token-secret) and `management.client_auth`
 * (management-client-auth). A token without a script is settled at the end: it is reported as ignored.
 */

import type { OvpnDirective } from "./ovpn_lexer.ts";
import type { OvpnContext } from "./ovpn_options.ts";
import type { YamlWriter } from "./yaml_emit.ts";

export interface AuthTranslation {
  readonly ctx: OvpnContext;
  readonly yaml: YamlWriter;
  readonly from: (d: OvpnDirective) => string;
}

/** auth-gen-token lines, held until the end: they need auth-user-pass-verify. */
export type PendingToken = OvpnDirective[];

const METHODS = ["via-env", "via-file"];
const MAX_INT = 2 ** 31 - 1;

/** Translates `d` when it is one of the auth options; false otherwise. */
export function translateAuthOption(t: AuthTranslation, d: OvpnDirective, pending: PendingToken): boolean {
  const { ctx, yaml } = t;
  switch (d.name) {
    case "auth-user-pass-verify":
      translateVerify(t, d);
      return true;
    case "auth-gen-token":
    case "auth-gen-token-secret":
      pending.push(d);
      return true;
    case "management-client-auth":
      yaml.set("management.client_auth", { kind: "scalar", value: true }, t.from(d));
      return true;
    case "auth-user-pass-optional":
      ctx.ignore(d, "with server.auth every client must send a username and password");
      return true;
  }
  return false;
}

function translateVerify(t: AuthTranslation, d: OvpnDirective): void {
  const { ctx, yaml } = t;
  const cmd = ctx.arg(d, 0, "a script and its method (via-env or via-file)");
  const method = ctx.arg(d, 1, "via-env or via-file");
  if (!METHODS.includes(method)) ctx.fail(d, `expected via-env or via-file, got ${JSON.stringify(method)}`);
  if (/\s/.test(cmd.trim())) {
    ctx.ignore(d, "server.auth.script is one program without arguments: wrap the command in a script");
    return;
  }
  yaml.set("server.auth.script", { kind: "scalar", value: cmd }, t.from(d));
  yaml.set("server.auth.method", { kind: "scalar", value: method });
}

/** auth-gen-token [lifetime [renewal [external-auth]]] and auth-gen-token-secret FILE. */
export function settleAuthToken(t: AuthTranslation, pending: PendingToken): void {
  const { ctx, yaml } = t;
  const hasScript = yaml.has("server.auth.script");
  for (const d of pending) {
    if (!hasScript) {
      ctx.ignore(d, "auth tokens need auth-user-pass-verify (translated to server.auth.script)");
      continue;
    }
    if (d.name === "auth-gen-token-secret") {
      yaml.set(
        "server.auth.token.secret_file",
        { kind: "scalar", value: ctx.arg(d, 0, "a file") },
        t.from(d),
      );
      continue;
    }
    const lifetime = d.args[0] === undefined ? 0 : ctx.int(d, 0, 0, MAX_INT, "a lifetime in seconds");
    yaml.set("server.auth.token.lifetime", { kind: "scalar", value: lifetime }, t.from(d));
    if (d.args.length > 1) {
      ctx.ignore(d, "the renewal time and external-auth are not supported (the token lasts its lifetime)");
    }
  }
}
