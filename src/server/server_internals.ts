/**
 * The server's memory and the sizes of its own tables, for the status
 * document's `internals` (src/ops/server_control.ts). The long-run soak
 * (tests/soak/clients_soak.ts, docs/reliability.md) samples them: with the
 * same clients connected, a table that keeps growing is a leak, whatever RSS
 * does meanwhile. Every figure is a count the tables keep anyway; nothing is
 * walked but the sessions and the peers' data channels.
 *
 * | table             | what                                                         | per client   |
 * | ----------------- | ------------------------------------------------------------ | ------------ |
 * | controlSessions   | control sessions (handshaking, connected, closing)           | 1            |
 * | registryRecords   | client records, from handshake until the session closes      | 1            |
 * | keyStates         | key states over all sessions (reliability layer, TLS, km2)   | ≤ 3          |
 * | tlsChannels       | TLS channels made and not destroyed (process-wide)           | ≤ 3          |
 * | opensslSsl        | OpenSSL SSL objects: handshakes, TLS 1.2 sessions, clients   | 0 when idle  |
 * | controlTimers     | control-channel timers waiting (handshake, retransmit, reneg) | ≈ 1          |
 * | dataKeys          | data-channel keys installed (send key, previous key)         | ≤ 2          |
 * | opensslAeads      | OpenSSL AEAD instances alive, 2 per data key (process-wide)  | ≤ 4          |
 * | datapathPeers     | peers the datapath carries                                   | 1            |
 * | linkReplies       | reply functions by link (UDP endpoint, TCP connection)       | 1            |
 * | tcpConnections    | open TCP connections                                         | ≤ 1          |
 * | resetSources      | sources the reset rate limiter tracks                        | —            |
 * | poolLeases        | pool addresses in use                                        | 1            |
 */

import type { TimerCountingClock } from "../control/clock.ts";
import type { ControlListener } from "../control/listener.ts";
import { liveTlsChannels, tlsEngine } from "../control/tls_channel.ts";
import { liveSslObjects } from "../control/tls_openssl.ts";
import { liveOpenSslAeads } from "../data/aead_openssl.ts";
import type { Datapath } from "../datapath/datapath.ts";
import type { InternalsSnapshot } from "../ops/server_control.ts";
import type { AddressPool } from "../pool/address_pool.ts";
import type { ClientRegistry } from "./client_registry.ts";
import { MAX_REPLY_LINKS, type ServerTransport } from "./server_transport.ts";

export interface InternalsSources {
  listener: ControlListener;
  registry: ClientRegistry;
  transport: ServerTransport;
  datapath: Datapath;
  pool: AddressPool | null;
  /** The control channel's clock (server.ts wraps the real one). */
  clock: TimerCountingClock;
  /** @default Deno.memoryUsage */
  memoryUsage?: () => { rss: number; heapUsed: number; heapTotal: number; external: number };
}

export function internalsSnapshot(s: InternalsSources): InternalsSnapshot {
  const m = (s.memoryUsage ?? Deno.memoryUsage)();
  let keyStates = 0;
  for (const session of s.listener.sessions()) keyStates += session.keyCount;
  let dataKeys = 0;
  for (const channel of s.datapath.peers.channels) if (channel) dataKeys += channel.keyCount;
  return {
    memory: { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external },
    tables: {
      controlSessions: s.listener.sessionCount,
      registryRecords: s.registry.size,
      keyStates,
      tlsChannels: liveTlsChannels(),
      opensslSsl: liveSslObjects(),
      controlTimers: s.clock.pending,
      dataKeys,
      opensslAeads: liveOpenSslAeads(),
      datapathPeers: s.datapath.peers.count,
      linkReplies: s.transport.replyLinks,
      tcpConnections: s.transport.tcpConnections,
      resetSources: s.listener.trackedSources,
      poolLeases: s.pool?.inUse ?? 0,
    },
    // The reply table starts over once it holds more than this many links.
    caps: { linkReplies: MAX_REPLY_LINKS + 1 },
    tls: tlsEngine(),
  };
}
