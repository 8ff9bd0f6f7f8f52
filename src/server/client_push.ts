/**
 * What each client is pushed, and when: without a client-config-dir or
 * client-connect script the PUSH_REPLY is built at once; with them the push
 * waits for their plan (once per session), which may still refuse the client.
 * Either way the client is then let in (established): held data keys attach,
 * learn-address runs.
 */

import type { PeerContext } from "../control/listener.ts";
import type { PushOptions } from "../control/push_options.ts";
import { PushRefused } from "../control/session.ts";
import { emptyPush } from "../config/sections.ts";
import type { ClientConnect } from "./client_connect.ts";
import type { ClientDatapath } from "./client_datapath.ts";
import type { ClientMesh } from "./client_mesh.ts";
import type { ClientRecord } from "./client_record.ts";
import type { ClientRegistryOptions } from "./client_registry_options.ts";
import { buildClientPush } from "./push_reply.ts";

export interface ClientPushOptions extends Pick<ClientRegistryOptions, "config" | "pool" | "pushExtra"> {
  connect: ClientConnect;
  attachments: ClientDatapath;
  mesh: ClientMesh | null;
  /** The record of the control listener's peer id. */
  recordOf: (controlPeerId: number) => ClientRecord | undefined;
}

export class ClientPush {
  readonly #o: ClientPushOptions;

  constructor(o: ClientPushOptions) {
    this.#o = o;
  }

  /**
   * The listener's push hook: the PUSH_REPLY options of an authorized session.
   * With a client-config-dir or a client-connect script it waits for them
   * (once per session; a refusal rejects with PushRefused, so the client gets AUTH_FAILED).
   */
  push(ctx: PeerContext): PushOptions | Promise<PushOptions> {
    const rec = this.#o.recordOf(ctx.peerId);
    if (!rec || rec.peerId < 0) throw new Error("push request from a session that was not authorized");
    if (!this.#o.connect.deferred && rec.planning === null) {
      rec.planning = Promise.resolve();
      this.#established(rec);
      return this.#withSessionExtras(ctx, this.optionsOf(rec));
    }
    rec.planning ??= this.#plan(rec);
    return rec.planning.then(() => this.#withSessionExtras(ctx, this.optionsOf(rec)));
  }

  /** Adds what belongs to this session only (the auth-token), never compared by a reload. */
  #withSessionExtras(ctx: PeerContext, options: PushOptions): PushOptions {
    const extra = this.#o.pushExtra?.(ctx) ?? [];
    if (extra.length > 0) options.extra = [...(options.extra ?? []), ...extra];
    return options;
  }

  /** What `rec` is pushed now (also what a reload compares). */
  optionsOf(rec: ClientRecord): PushOptions {
    const server = this.#o.config.server;
    const options = buildClientPush({
      pool: this.#o.pool,
      lease: rec.lease,
      clientToClient: server.clientToClient,
      keepalive: this.#o.config.keepalive,
      push: rec.inheritPush ? server.push : emptyPush(),
      override: rec.override,
      peerId: rec.peerId,
      compress: server.compat.compress,
      extra: rec.extraPush,
    });
    return options;
  }

  async #plan(rec: ClientRecord): Promise<void> {
    const outcome = await this.#o.connect.plan(rec);
    if (rec.released) throw new PushRefused("the session ended while its connect scripts ran");
    const refusal = outcome.ok ? this.#o.connect.apply(rec, outcome.plan) : outcome.reason;
    if (refusal !== null) throw new PushRefused(refusal);
    this.#o.attachments.reroute(rec);
    this.#established(rec);
  }

  /** The client is let in with its final addresses: learn-address, client-disconnect at the end. */
  #established(rec: ClientRecord): void {
    rec.connectRan = true;
    if (this.#o.attachments.attachHeld(rec)) this.#o.mesh?.keyInstalled(rec, false);
    this.#o.connect.learn(rec);
  }
}
