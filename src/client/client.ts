/**
 * `tsvpn --client`: the long-running client. It opens the tun device once
 * and keeps it for the whole run (persist-tun: applications never see the
 * interface vanish), runs the shared datapath over it in "single" mode, and
 * loops over connection attempts (connection.ts) with the reconnect policy
 * of backoff.ts. Each PUSH_REPLY, screened as received (push_screen.ts, via
 * connection.ts) and vetted (push_vet.ts), is planned (host_plan.ts) and applied by
 * the host-change recorder (host_changes.ts), which touches only what
 * changed since the previous connection. On every exit path the recorder
 * undoes everything in reverse order, the device is closed (the kernel
 * removes it), and the down script runs.
 *
 * Exit codes: 0 after stop() / SIGINT / SIGTERM with everything undone;
 * 1 when the client cannot run (unreadable keys, no tun device, host
 * configuration refused, up script failed, the server sent HALT).
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { openTun } from "../../ffi/tun.ts";
import { readPemSource } from "../config/pem_source.ts";
import type { ClientConfig } from "../config/schema.ts";
import { type Clock, systemClock } from "../control/clock.ts";
import { type ControlWrap, createControlWrap } from "../control/control_wrap.ts";
import { Emitter } from "../control/emitter.ts";
import { pkiVerifier } from "../control/verifier.ts";
import { Datapath } from "../datapath/datapath.ts";
import { runInsideLoop } from "../datapath/inside.ts";
import { runOutsideLoop } from "../datapath/outside.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import { parseStaticKey } from "../pki/static_key.ts";
import {
  INITIAL_RECONNECT_STATE,
  nextAttempt,
  orderRemotes,
  type Outcome,
  type ReconnectState,
} from "./backoff.ts";
import { type ConnectedInfo, Connection, type ConnectionEnd } from "./connection.ts";
import { findDhcpServer } from "./dhcp_lease.ts";
import { openTransport, type Resolver, systemResolver } from "./dial.ts";
import { HostChanges } from "./host_changes.ts";
import { type HostPlan, planHost } from "./host_plan.ts";
import { vetPush } from "./push_vet.ts";
import { recoverResolvConf, ResolvConfFile } from "./resolv_conf.ts";
import { runScript, scriptArgs, scriptEnv } from "./scripts.ts";
import { SwitchableSocket } from "./switchable_socket.ts";
import type { PushOptions } from "../control/push_options.ts";

export interface ClientOptions {
  log: Logger;
  /** Host network configuration; default rtnetlink in the current namespace (closed at exit). */
  net?: NetConfig;
  /** Opens the tun device; default ffi/tun.ts openTun. */
  openDevice?: (name: string, mtu: number) => PacketDevice;
  /** Where pull.dns resolv.conf writes. @default "/etc/resolv.conf" */
  resolvConfPath?: string;
  resolver?: Resolver;
  /** [0, 1); jitter and remote_random. @default Math.random */
  random?: () => number;
  /** From dialling a remote until its PUSH_REPLY. @default 30000 */
  handshakeTimeoutMs?: number;
  /** Until a remote's first answer. @default 10000 */
  firstResponseTimeoutMs?: number;
  /** Opens a remote's transport. @default dial.ts openTransport (ffi/udp.ts, Deno TCP) */
  openTransport?: typeof openTransport;
  /** For bypass-dhcp. @default lease files (dhcp_lease.ts) */
  dhcpServer?: () => Promise<string | null>;
  /** Timers for the wait between connection attempts (tests inject a manual clock). @default systemClock */
  retryClock?: Pick<Clock, "setTimer" | "clearTimer">;
}

export type ClientState = "starting" | "connecting" | "connected" | "waiting" | "stopping" | "stopped";

export interface ClientStatus {
  state: ClientState;
  /** "host:port" of the remote in use or being dialled. */
  remote: string | null;
  plan: HostPlan | null;
  /** Successful connections so far. */
  connects: number;
  lastError: string | null;
}

export type ClientEvents = {
  /** The push was applied (`changed`: false when a reconnect found nothing to change). */
  connected: (e: { remote: string; plan: HostPlan; changed: boolean }) => void;
  disconnected: (e: ConnectionEnd) => void;
};

const OUTCOME: Record<string, Outcome["kind"]> = {
  "failed": "failed",
  "lost": "lost",
  "server-restart": "server-restart",
  "auth-failed": "auth-failed",
};

export class ClientHandle extends Emitter<ClientEvents> {
  /** The exit code, once everything tsvpn changed is undone. */
  readonly done: Promise<number>;
  readonly #config: ClientConfig;
  readonly #o: ClientOptions;
  readonly #log: Logger;
  readonly #status: ClientStatus = {
    state: "starting",
    remote: null,
    plan: null,
    connects: 0,
    lastError: null,
  };
  #conn: Connection | null = null;
  #stopping = false;
  #wake: (() => void) | null = null;
  #applying: Promise<void> = Promise.resolve();

  constructor(config: ClientConfig, options: ClientOptions) {
    super();
    this.#config = config;
    this.#o = options;
    this.#log = options.log;
    this.done = this.#run();
  }

  get status(): Readonly<ClientStatus> {
    return this.#status;
  }

  /** Disconnects (telling the server), undoes every host change and resolves `done` with 0. */
  stop(reason = "stop requested"): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#status.state = "stopping";
    this.#log.info("stopping", { reason });
    void this.#conn?.stop(reason);
    this.#wake?.();
  }

  /** Resolves with the next `connected` event, rejects after `timeoutMs` or when the client stops. */
  waitConnected(timeoutMs: number): Promise<{ remote: string; plan: HostPlan; changed: boolean }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("connected", on);
        reject(new Error(`Not connected within ${timeoutMs} ms (last error: ${this.#status.lastError})`));
      }, timeoutMs);
      const on = (e: { remote: string; plan: HostPlan; changed: boolean }) => {
        clearTimeout(timer);
        this.off("connected", on);
        resolve(e);
      };
      this.on("connected", on);
      this.done.then(() => {
        clearTimeout(timer);
        this.off("connected", on);
        reject(new Error("The client stopped before connecting"));
      });
    });
  }

  async #run(): Promise<number> {
    const config = this.#config;
    const o = this.#o;
    const log = this.#log;
    let code = 0;
    let net: NetConfig | null = null;
    let host: HostChanges | null = null;
    let device: PacketDevice | null = null;
    const socket = new SwitchableSocket();
    let tick: ReturnType<typeof setInterval> | undefined;
    const loops: Promise<void>[] = [];
    let lastPlan: HostPlan | null = null;
    let lastPush: PushOptions = {};
    let upFailed = false;
    try {
      const [ca, cert, key] = await Promise.all([
        readPemSource(config.pki.ca),
        readPemSource(config.pki.cert),
        readPemSource(config.pki.key),
      ]);
      const crl = config.pki.crl ? await readPemSource(config.pki.crl) : undefined;
      const makeWrap = await wrapFactory(config);
      const verifyPeer = pkiVerifier({
        ca,
        crl,
        usage: "serverAuth",
        expectedName: config.serverName ?? undefined,
      });
      net = o.net ?? openNetlink();
      let dns: ResolvConfFile | null = null;
      if (config.pull.dns === "resolv.conf") {
        const path = o.resolvConfPath ?? "/etc/resolv.conf";
        await recoverResolvConf(path, log);
        dns = new ResolvConfFile(path, log);
      }
      host = new HostChanges(net, { log: log.child("host"), dns });
      const openDevice = o.openDevice ??
        ((name, mtu) => openTun({ kind: "tun", name, mtu, vnetHeader: true }));
      if (config.dev.type !== "tun") throw new Error("The client supports dev type tun only");
      device = openDevice(config.dev.name, config.dev.mtu);
      log.info("device open", { dev: device.name, mtu: device.mtu });
      const dp = new Datapath({
        mode: "single",
        device,
        socket,
        log: log.child("datapath"),
        onControl: (buf, off, len, from, row) => this.#conn?.onControl(buf, off, len, from, row),
        onExit: () => this.#conn?.onExit(),
        onRekeyDue: () => this.#conn?.onRekeyDue(),
        onTimeout: () => {
          dp.releasePeer(0);
          this.#conn?.onTimeout();
        },
      });
      const loopFailed = (where: string) => (e: unknown) => {
        if (!this.#stopping) log.error(`${where} loop failed: ${(e as Error).message}`);
      };
      loops.push(runInsideLoop(dp).catch(loopFailed("device")));
      loops.push(runOutsideLoop(dp).catch(loopFailed("socket")));
      tick = setInterval(() => dp.tick(), 1000);

      const dev = device.name;
      const random = o.random ?? Math.random;
      const lookups = host.lookups(dev);
      const dhcp = o.dhcpServer ?? (() => findDhcpServer());
      const h = host;
      const onPush = (info: ConnectedInfo): Promise<void> => {
        const work = (async () => {
          const { push, warnings } = vetPush(info.push, config.pull);
          for (const w of warnings) log.warn(w);
          const plan = await planHost({
            dev,
            mtu: config.dev.mtu,
            push,
            policy: config,
            server: { address: info.address, port: info.remote.port, proto: info.remote.proto },
            lookups: { ...lookups, dhcpServer: dhcp },
          });
          for (const w of plan.warnings) log.warn(w);
          if (this.#stopping) throw new Error("stopping");
          const res = await h.apply(plan, config.pull.dns === "resolv.conf");
          const previous = lastPlan;
          const previousPush = lastPush;
          lastPlan = plan;
          lastPush = push;
          const remote = `${info.remote.host}:${info.remote.port}`;
          log.info(previous && res.unchanged ? "tunnel up again, nothing changed" : "tunnel up", {
            remote,
            dev,
            address: plan.local4 ? `${plan.local4.address}/${plan.local4.prefixLen}` : "-",
            address6: plan.local6 ? `${plan.local6.address}/${plan.local6.prefixLen}` : "-",
            routes: plan.items.filter((i) => i.kind === "route").length,
            redirect: plan.redirect ? plan.redirect.flags.join(" ") || "on" : "no",
          });
          if (previous && !res.unchanged && config.scripts.down) {
            await this.#script("down", previous, previousPush);
          }
          if ((!previous || !res.unchanged) && config.scripts.up) {
            const r = await this.#script("up", plan, push);
            if (!r) {
              upFailed = true;
              throw new Error("The up script failed; tearing the tunnel down");
            }
          }
          this.#status.state = "connected";
          this.#status.plan = plan;
          this.#status.connects++;
          this.emit("connected", { remote, plan, changed: !res.unchanged });
        })();
        this.#applying = work.then(() => {}, () => {});
        return work;
      };

      const remotes = orderRemotes(config.remotes, config.remoteRandom, random);
      let state: ReconnectState = INITIAL_RECONNECT_STATE;
      while (!this.#stopping) {
        const remote = remotes[state.remote];
        this.#status.state = "connecting";
        this.#status.remote = `${remote.host}:${remote.port}`;
        const conn = new Connection({
          config,
          credentials: { ca, cert, key },
          makeWrap,
          verifyPeer,
          datapath: dp,
          socket,
          resolver: o.resolver ?? systemResolver,
          log,
          handshakeTimeoutMs: o.handshakeTimeoutMs ?? 30_000,
          firstResponseTimeoutMs: o.firstResponseTimeoutMs ?? 10_000,
          openTransport: o.openTransport ?? openTransport,
          onPush,
        }, remote);
        this.#conn = conn;
        if (this.#stopping) break;
        const end = await conn.run();
        this.#conn = null;
        await this.#applying;
        if (end.kind === "stopped" || this.#stopping) break;
        this.#status.lastError = end.reason;
        this.emit("disconnected", end);
        if (end.kind === "fatal" || end.kind === "halt") {
          log.error(end.reason);
          code = 1;
          break;
        }
        const kind = OUTCOME[end.kind];
        const outcome = (kind === "lost" || kind === "server-restart"
          ? { kind, upForMs: (end as { upForMs: number }).upForMs }
          : { kind }) as Outcome;
        const d = nextAttempt(state, outcome, remotes.length, config.reconnect, random);
        state = d.state;
        const next = remotes[state.remote];
        const msg = `${end.reason}; ${d.delayMs === 0 ? "reconnecting now" : "reconnecting"}`;
        const fields = { to: `${next.host}:${next.port}`, in: `${(d.delayMs / 1000).toFixed(1)}s` };
        if (end.kind === "auth-failed") {
          log.error(msg, fields);
        } else log.warn(msg, fields);
        this.#status.state = "waiting";
        await this.#sleep(d.delayMs);
      }
    } catch (e) {
      const msg = (e as Error).message;
      log.error(msg);
      this.#status.lastError = msg;
      code = 1;
    } finally {
      this.#status.state = "stopping";
      this.#stopping = true;
      await this.#conn?.stop("exiting");
      await this.#applying;
      if (host) await host.undoAll();
      try {
        device?.close();
      } catch (e) {
        log.warn(`closing the device failed: ${(e as Error).message}`);
      }
      socket.close();
      if (tick !== undefined) clearInterval(tick);
      await Promise.race([Promise.allSettled(loops), new Promise((r) => setTimeout(r, 2000))]);
      if (lastPlan && !upFailed && config.scripts.down) await this.#script("down", lastPlan, lastPush);
      if (net && !o.net) net.close();
      this.#status.state = "stopped";
      log.info("stopped", { code, connects: this.#status.connects });
    }
    return code;
  }

  async #script(type: "up" | "down", plan: HostPlan, push: PushOptions): Promise<boolean> {
    const path = type === "up" ? this.#config.scripts.up : this.#config.scripts.down;
    if (!path) return true;
    const r = await runScript(path, scriptArgs(plan), scriptEnv(plan, type, push), this.#log.child(type));
    if (!r.ok) this.#log.error(`${type} script failed: ${r.reason}`);
    return r.ok;
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return Promise.resolve();
    const clock = this.#o.retryClock ?? systemClock;
    return new Promise((resolve) => {
      const t = clock.setTimer(done, ms);
      function done() {
        clock.clearTimer(t);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}

async function wrapFactory(config: ClientConfig): Promise<() => ControlWrap | undefined> {
  if (config.pki.tlsCrypt) {
    const key = parseStaticKey(await readPemSource(config.pki.tlsCrypt));
    return () => createControlWrap({ mode: "tls-crypt", key }, "client");
  }
  const ta = config.pki.tlsAuth;
  if (ta) {
    const key = parseStaticKey(await readPemSource(ta.key));
    return () =>
      createControlWrap(
        { mode: "tls-auth", key, digest: ta.digest, direction: ta.direction ?? undefined },
        "client",
      );
  }
  return () => undefined;
}

/** Starts the client; the handle stops it and reports its exit code. */
export function startClient(config: ClientConfig, options: ClientOptions): ClientHandle {
  return new ClientHandle(config, options);
}

/**
 * Runs the client until SIGINT or SIGTERM (or a fatal error) and resolves
 * with the exit code once every host change is undone.
 */
export async function runClient(config: ClientConfig, options: ClientOptions): Promise<number> {
  const handle = startClient(config, options);
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((sig) => {
    const fn = () => handle.stop(`received ${sig}`);
    Deno.addSignalListener(sig, fn);
    return [sig, fn] as const;
  });
  try {
    return await handle.done;
  } finally {
    for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
  }
}
