/**
 * How the server's control listener and datapath are configured from the
 * ServerConfig and hooked to the client registry and the transport. Apart from
 * server.ts so the composition root reads as the order things start and stop
 * in; the registry and transport are passed as getters because they are built
 * after the listener (the transport needs it) and the datapath.
 */

import type { ServerConfig } from "../config/schema.ts";
import type { Clock } from "../control/clock.ts";
import type { ControlWrapConfig } from "../control/control_wrap.ts";
import { ControlListener } from "../control/listener.ts";
import type { TlsCredentials } from "../control/tls_channel.ts";
import { Datapath } from "../datapath/datapath.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import type { ClientRegistry } from "./client_registry.ts";
import type { CrlWatch } from "./crl_watch.ts";
import type { HandshakeTally } from "./handshake_tally.ts";
import { clientVerifier } from "./server_pki.ts";
import type { ServerTransport } from "./server_transport.ts";

export interface ListenerWiring {
  config: ServerConfig;
  credentials: TlsCredentials;
  wrap: ControlWrapConfig;
  crl: CrlWatch | null;
  log: Logger;
  clock: Clock;
  /** A username/password check is configured: renegotiations re-check it. */
  userAuth: boolean;
  registry: () => ClientRegistry;
  transport: () => ServerTransport;
  handshakes: HandshakeTally;
}

/** The control listener: session limits and settings from the config, its hooks into the registry. */
export function createServerListener(w: ListenerWiring): ControlListener {
  const { server, data } = w.config;
  return new ControlListener({
    credentials: w.credentials,
    verifyPeer: clientVerifier({ ca: w.credentials.ca, crl: w.crl, log: w.log }),
    wrap: w.wrap,
    logger: w.log.child("control"),
    maxSessions: server.maxClients * 2 + 16,
    handshakeRate: server.handshakeRate,
    handshakeBurst: server.handshakeRate * 2,
    session: {
      ciphers: data.ciphers,
      devType: w.config.dev.type,
      renegotiateMs: data.renegSeconds * 1000,
      transitionWindowMs: data.transitionWindow * 1000,
      clock: w.clock,
    },
    authorize: (peer, ctx, auth) => w.registry().authorize(peer, ctx, auth),
    reauthorize: w.userAuth ? (peer, ctx, auth) => w.registry().reauthorize(peer, ctx, auth) : undefined,
    pushOptions: (_peer, ctx) => w.registry().push(ctx),
    onSession: (session, ctx) => {
      w.handshakes.watch(session);
      w.registry().add(session, ctx, w.transport().sourceEndpoint());
    },
  });
}

export interface DatapathWiring {
  config: ServerConfig;
  device: PacketDevice;
  now: () => number;
  log: Logger;
  registry: () => ClientRegistry;
  transport: () => ServerTransport;
}

/** The datapath (router or switch by dev.type) between the device and the transport's socket. */
export function createServerDatapath(w: DatapathWiring): Datapath {
  const { dev, server, listen, keepalive } = w.config;
  return new Datapath({
    mode: dev.type === "tap" ? "switch" : "router",
    device: w.device,
    socket: w.transport().socket,
    capacity: Math.min(server.maxClients + 16, 0xfffff),
    clientToClient: server.clientToClient,
    maxMacsPerClient: server.maxMacsPerClient,
    mssfix: server.mssfix,
    float: listen.proto === "udp",
    pingIntervalMs: keepalive.interval * 1000,
    timeoutMs: keepalive.timeout * 2000,
    now: w.now,
    log: w.log.child("datapath"),
    onControl: (buf, off, len, from, row) => w.transport().handleControl(buf, off, len, from, row),
    onFloat: (id) => w.registry().floated(id),
    onExit: (id) => w.registry().exitNotified(id),
    onTimeout: (id) => w.registry().timedOut(id),
    onRekeyDue: (id) => w.registry().rekeyDue(id),
  });
}
