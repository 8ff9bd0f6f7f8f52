/**
 * The ServerControl the management interface gets before the server exists:
 * it starts first (so a server configured with `management.hold` can be
 * released through it), answers `status` with an empty server and kills
 * nobody until `bind()` hands it the running server's control.
 */
import type { ServerConfig } from "../config/schema.ts";
import type { ServerControl, ServerSnapshot } from "../ops/server_control.ts";
import { VERSION } from "../version.ts";

export class LateControl implements ServerControl {
  readonly #config: ServerConfig;
  readonly #now: () => number;
  #control: ServerControl | null = null;

  constructor(config: ServerConfig, now: () => number = Date.now) {
    this.#config = config;
    this.#now = now;
  }

  bind(control: ServerControl): void {
    this.#control = control;
  }

  snapshot(): ServerSnapshot {
    if (this.#control) return this.#control.snapshot();
    const { dev, server, listen } = this.#config;
    const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
    return {
      version: VERSION,
      time: Math.floor(this.#now() / 1000),
      mode: dev.type,
      topology: dev.type === "tun" ? server.topology : "subnet",
      device: dev.name,
      listen: `${listen.proto} ${host}:${listen.port} (not started)`,
      clients: [],
      routes: [],
      macs: [],
      drops: {},
      globalStats: { "Max bcast/mcast queue length": 0 },
    };
  }

  kill(name: string, reason: string): Promise<number> {
    return this.#control?.kill(name, reason) ?? Promise.resolve(0);
  }

  killAddress(address: string, reason: string): Promise<number> {
    return this.#control?.killAddress(address, reason) ?? Promise.resolve(0);
  }

  killClientId(clientId: number, message: string | null, reason: string): Promise<boolean> {
    return this.#control?.killClientId(clientId, message, reason) ?? Promise.resolve(false);
  }

  reloadCrl(): Promise<number> {
    return this.#control?.reloadCrl() ?? Promise.resolve(0);
  }

  /** The running server's reload, when it has one (none before it started, as without a config file). */
  get reload(): (() => Promise<string>) | undefined {
    const control = this.#control;
    return control?.reload ? () => control.reload!() : undefined;
  }
}
