/**
 * Test double: a ServerControl over a fixed, editable snapshot that records
 * kill and reload-crl calls. For tests only.
 */
import type { ClientSnapshot, ServerControl, ServerSnapshot } from "../../ops/server_control.ts";

/** 2024-05-01 12:00:00 UTC. */
export const SAMPLE_TIME = 1714564800;

export function sampleClient(overrides: Partial<ClientSnapshot> = {}): ClientSnapshot {
  return {
    name: "alice",
    realAddress: "198.51.100.7:51514",
    virtualAddress: "10.8.0.2",
    virtualAddress6: "",
    peerId: 0,
    cipher: "AES-256-GCM",
    connectedSince: SAMPLE_TIME - 3600,
    bytesIn: 48213,
    bytesOut: 91022,
    packetsIn: 410,
    packetsOut: 700,
    lastActivity: SAMPLE_TIME - 5,
    ...overrides,
  };
}

/** Two tun clients, one with an iroute and IPv6, some drops. */
export function sampleSnapshot(overrides: Partial<ServerSnapshot> = {}): ServerSnapshot {
  return {
    version: "0.1.0",
    time: SAMPLE_TIME,
    mode: "tun",
    topology: "subnet",
    device: "tsvpn0",
    listen: "udp 0.0.0.0:1194",
    clients: [
      sampleClient(),
      sampleClient({
        name: "bob",
        realAddress: "[2001:db8::5]:40000",
        virtualAddress: "10.8.0.3",
        virtualAddress6: "fd00:8::1001",
        peerId: 1,
        cipher: "CHACHA20-POLY1305",
        connectedSince: SAMPLE_TIME - 60,
        bytesIn: 100,
        bytesOut: 200,
        lastActivity: SAMPLE_TIME - 1,
      }),
    ],
    routes: [
      {
        virtualAddress: "10.8.0.2",
        name: "alice",
        realAddress: "198.51.100.7:51514",
        lastRef: SAMPLE_TIME - 5,
      },
      {
        virtualAddress: "10.8.0.3",
        name: "bob",
        realAddress: "[2001:db8::5]:40000",
        lastRef: SAMPLE_TIME - 1,
      },
      {
        virtualAddress: "192.168.10.0/24",
        name: "bob",
        realAddress: "[2001:db8::5]:40000",
        lastRef: SAMPLE_TIME - 30,
      },
    ],
    macs: [],
    drops: { spoofed: 3, bad_tag: 1, replay: 0 },
    globalStats: { "Max bcast/mcast queue length": 0 },
    ...overrides,
  };
}

export class FakeServerControl implements ServerControl {
  snapshotValue: ServerSnapshot;
  readonly kills: { name: string; reason: string }[] = [];
  /** killAddress() and killClientId() calls, in order. */
  readonly targetedKills: { address?: string; clientId?: number; message?: string | null; reason: string }[] =
    [];
  crlReloads = 0;
  /** What reloadCrl() resolves to. */
  crlDisconnects = 0;
  /** When set, kill() and reloadCrl() reject with this message. */
  failWith: string | null = null;

  constructor(snapshot: ServerSnapshot = sampleSnapshot()) {
    this.snapshotValue = snapshot;
  }

  snapshot(): ServerSnapshot {
    return this.snapshotValue;
  }

  kill(name: string, reason: string): Promise<number> {
    if (this.failWith !== null) return Promise.reject(new Error(this.failWith));
    this.kills.push({ name, reason });
    const n = this.snapshotValue.clients.filter((c) => c.name === name).length;
    this.snapshotValue = {
      ...this.snapshotValue,
      clients: this.snapshotValue.clients.filter((c) => c.name !== name),
    };
    return Promise.resolve(n);
  }

  /** Removes the clients `match` selects; returns how many. */
  #remove(match: (c: ClientSnapshot) => boolean): number {
    const n = this.snapshotValue.clients.filter(match).length;
    this.snapshotValue = {
      ...this.snapshotValue,
      clients: this.snapshotValue.clients.filter((c) => !match(c)),
    };
    return n;
  }

  killAddress(address: string, reason: string): Promise<number> {
    if (this.failWith !== null) return Promise.reject(new Error(this.failWith));
    this.targetedKills.push({ address, reason });
    return Promise.resolve(this.#remove((c) => c.realAddress === address));
  }

  killClientId(clientId: number, message: string | null, reason: string): Promise<boolean> {
    if (this.failWith !== null) return Promise.reject(new Error(this.failWith));
    this.targetedKills.push({ clientId, message, reason });
    return Promise.resolve(this.#remove((c) => (c.clientId ?? c.peerId) === clientId) > 0);
  }

  reloadCrl(): Promise<number> {
    if (this.failWith !== null) return Promise.reject(new Error(this.failWith));
    this.crlReloads++;
    return Promise.resolve(this.crlDisconnects);
  }
}
