/**
 * The last stage of a PUSH_REPLY on the client, after push_screen.ts (as
 * received) and before the connection counts as up: vet it (push_vet.ts),
 * plan the host configuration (host_plan.ts), apply the plan through the
 * recorder (host_changes.ts), which touches only what changed since the
 * previous connection, and run the down script for the old plan and the up
 * script for the new one when something changed.
 */

import type { ClientConfig } from "../config/schema.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { Logger } from "../log/log.ts";
import type { ConnectedInfo } from "./connection.ts";
import type { HostChanges } from "./host_changes.ts";
import { planHost } from "./host_plan.ts";
import type { HostLookups, HostPlan } from "./host_plan_types.ts";
import { vetPush } from "./push_vet.ts";
import { runScript, scriptArgs, scriptEnv } from "./scripts.ts";

export interface AppliedPush {
  /** "host:port" of the remote. */
  remote: string;
  plan: HostPlan;
  /** False when a reconnect found nothing to change. */
  changed: boolean;
}

export interface PushApplierDeps {
  config: ClientConfig;
  log: Logger;
  host: HostChanges;
  /** The tun device's name. */
  dev: string;
  /** For bypass-dhcp. */
  dhcpServer: () => Promise<string | null>;
  /** True once the client is stopping: a plan made by then is not applied. */
  isStopping: () => boolean;
}

export class PushApplier {
  readonly #deps: PushApplierDeps;
  readonly #lookups: HostLookups;
  #lastPlan: HostPlan | null = null;
  #lastPush: PushOptions = {};
  #upScriptFailed = false;

  constructor(deps: PushApplierDeps) {
    this.#deps = deps;
    this.#lookups = { ...deps.host.lookups(deps.dev), dhcpServer: deps.dhcpServer };
  }

  /** Applies one push; rejects when the host refuses the plan or the up script fails. */
  async apply(info: ConnectedInfo): Promise<AppliedPush> {
    const { config, log, dev } = this.#deps;
    const { push, warnings } = vetPush(info.push, config.pull);
    for (const warning of warnings) log.warn(warning);
    const plan = await planHost({
      dev,
      devType: config.dev.type,
      mtu: config.dev.mtu,
      push,
      policy: config,
      server: { address: info.address, port: info.remote.port, proto: info.remote.proto },
      lookups: this.#lookups,
    });
    for (const warning of plan.warnings) log.warn(warning);
    if (this.#deps.isStopping()) throw new Error("stopping");
    const result = await this.#deps.host.apply(plan, config.pull.dns === "resolv.conf");
    const previousPlan = this.#lastPlan;
    const previousPush = this.#lastPush;
    this.#lastPlan = plan;
    this.#lastPush = push;
    const remote = `${info.remote.host}:${info.remote.port}`;
    log.info(previousPlan && result.unchanged ? "tunnel up again, nothing changed" : "tunnel up", {
      remote,
      dev,
      address: plan.local4 ? `${plan.local4.address}/${plan.local4.prefixLen}` : "-",
      address6: plan.local6 ? `${plan.local6.address}/${plan.local6.prefixLen}` : "-",
      routes: plan.items.filter((item) => item.kind === "route").length,
      redirect: plan.redirect ? plan.redirect.flags.join(" ") || "on" : "no",
    });
    if (previousPlan && !result.unchanged && config.scripts.down) {
      await this.#script("down", previousPlan, previousPush);
    }
    if ((!previousPlan || !result.unchanged) && config.scripts.up && !await this.#script("up", plan, push)) {
      this.#upScriptFailed = true;
      throw new Error("The up script failed; tearing the tunnel down");
    }
    return { remote, plan, changed: !result.unchanged };
  }

  /** At exit: the down script for the plan last applied, unless its up script failed. */
  async runFinalDownScript(): Promise<void> {
    if (this.#lastPlan && !this.#upScriptFailed && this.#deps.config.scripts.down) {
      await this.#script("down", this.#lastPlan, this.#lastPush);
    }
  }

  async #script(type: "up" | "down", plan: HostPlan, push: PushOptions): Promise<boolean> {
    const { config, log } = this.#deps;
    const path = type === "up" ? config.scripts.up : config.scripts.down;
    if (!path) return true;
    const result = await runScript(path, scriptArgs(plan), scriptEnv(plan, type, push), log.child(type));
    if (!result.ok) log.error(`${type} script failed: ${result.reason}`);
    return result.ok;
  }
}
