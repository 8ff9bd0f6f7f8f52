/**
 * The server schema (mode: server): reads every section, applies defaults and
 * checks the rules that span fields (topology vs device, static addresses vs
 * network and topology, bridge vs addresses).
 */

import type { IpAddress } from "../addr/ip.ts";
import { addressAt, hostOffset, type IpPrefix, prefixContains } from "../addr/prefix.ts";
import {
  type ClientOverride,
  DEFAULTS,
  type DevConfig,
  type ListenConfig,
  PROTOS,
  type ServerConfig,
  type ServerSection,
  TOPOLOGIES,
  type Topology,
} from "./schema.ts";
import {
  emptyPush,
  readCompat,
  readData,
  readDev,
  readKeepalive,
  readLog,
  readManagement,
  readPki,
  readPush,
} from "./sections.ts";
import { readMesh } from "./mesh_config.ts";
import {
  CLIENT_OVERRIDE_KEYS,
  LISTEN_KEYS,
  POOL_RANGE_KEYS,
  SERVER_KEYS,
  SERVER_SECTION_KEYS,
} from "./keys.ts";
import { readMetrics } from "./metrics_config.ts";
import { readClientConfigDir, readServerScripts } from "./server_scripts.ts";
import { readServerAuth } from "./auth_config.ts";
import { readAddress, readPort, readPrefix, readPrefixList, readSeconds } from "./values.ts";
import type { Field, MapView } from "./yaml_reader.ts";

/** The switch's MAC table size: no client can own more. */
const MAX_MACS = 65536;

/** Largest default inner packet for MSS clamping (see the mssfix default). */
const DEFAULT_MSSFIX = 1448;

/** Smallest IPv4 pool OpenVPN accepts for `server` (/29), and its IPv6 range. */
const MAX_NETWORK_LENGTH = 29;
const MIN_NETWORK6_LENGTH = 64;
const MAX_NETWORK6_LENGTH = 124;

export function readServerConfig(root: MapView): ServerConfig {
  root.checkKeys(SERVER_KEYS);
  const listen = readListen(root);
  const dev = readDev(root);
  const pki = readPki(root);
  const data = readData(root);
  const keepalive = readKeepalive(root, true)!;
  const log = readLog(root);
  const management = readManagement(root, true);
  const server = readServerSection(root.req("server"), dev);
  return { mode: "server", listen, dev, pki, data, keepalive, log, management, server };
}

function readListen(root: MapView): ListenConfig {
  const listen: ListenConfig = { host: DEFAULTS.listenHost, port: DEFAULTS.port, proto: DEFAULTS.proto };
  const f = root.opt("listen");
  if (!f) return listen;
  const m = f.map(LISTEN_KEYS);
  const host = m.opt("host");
  if (host) listen.host = readAddress(host).text;
  const port = m.opt("port");
  if (port) listen.port = readPort(port);
  const proto = m.opt("proto");
  if (proto) listen.proto = proto.oneOf(PROTOS);
  return listen;
}

function readBool(m: MapView, key: string, fallback: boolean): boolean {
  const f = m.opt(key);
  return f ? f.bool() : fallback;
}

function readServerSection(f: Field, dev: DevConfig): ServerSection {
  const m = f.map(SERVER_SECTION_KEYS);

  const bridgeField = m.opt("bridge");
  const bridge = bridgeField ? bridgeField.bool() : false;
  if (bridge && dev.type !== "tap") {
    bridgeField!.fail(`expected false with dev.type ${dev.type} (bridging needs tap)`);
  }

  const topologyField = m.opt("topology");
  const topology: Topology = topologyField ? topologyField.oneOf(TOPOLOGIES) : DEFAULTS.topology;
  if (dev.type === "tap" && topology !== "subnet") {
    topologyField!.fail(`expected subnet with dev.type tap, got ${JSON.stringify(topology)}`);
  }

  const network = readNetwork(m, "network", bridge);
  const network6 = readNetwork(m, "network6", bridge);

  const maxClients = m.opt("max_clients");
  const maxMacs = m.opt("max_macs_per_client");
  const handshakeRate = m.opt("handshake_rate");
  const statusInterval = m.opt("status_interval");
  const poolPersist = m.opt("pool_persist");
  const statusFile = m.opt("status_file");
  const mssfix = readMssfix(m, dev);
  const clientToClient = readBool(m, "client_to_client", false);

  const section: ServerSection = {
    network,
    network6,
    address: network ? addressAt(network, 1) : null,
    address6: network6 ? addressAt(network6, 1) : null,
    topology,
    clientToClient,
    duplicateCn: readBool(m, "duplicate_cn", false),
    maxClients: maxClients ? maxClients.int(1, 2 ** 31 - 1, "an integer of at least 1") : DEFAULTS.maxClients,
    handshakeRate: handshakeRate
      ? handshakeRate.int(1, 1_000_000, "an integer from 1 to 1000000")
      : DEFAULTS.handshakeRate,
    maxMacsPerClient: maxMacs
      ? maxMacs.int(1, MAX_MACS, `an integer from 1 to ${MAX_MACS}`)
      : DEFAULTS.maxMacsPerClient,
    poolPersist: poolPersist ? poolPersist.filePath() : null,
    statusFile: statusFile ? statusFile.filePath() : null,
    statusInterval: statusInterval ? readSeconds(statusInterval) : DEFAULTS.statusInterval,
    mssfix,
    bridge,
    routes: readPrefixList(m, "routes", 4),
    routes6: readPrefixList(m, "routes6", 6),
    push: readPush(m),
    clients: new Map(),
    mesh: readMesh(m, dev, clientToClient),
    compat: readCompat(m),
    poolRange: readPoolRange(m, network),
    metrics: readMetrics(m, "server"),
    scripts: readServerScripts(m),
    clientConfigDir: readClientConfigDir(m),
    auth: readServerAuth(m),
  };
  const clients = m.opt("clients");
  if (clients) section.clients = readClients(clients, section);
  return section;
}

function readMssfix(m: MapView, dev: DevConfig): number {
  const f = m.opt("mssfix");
  // Default: inner packets of at most 1448 bytes, which with IPv4 + UDP + the
  // 24-byte P_DATA_V2 AEAD overhead make 1500-byte datagrams, the usual path MTU
  // (OpenVPN 2.6's `mssfix 1492 mtu` default aims at the same: no fragmentation).
  if (!f) return Math.min(dev.mtu, DEFAULT_MSSFIX);
  if (f.scalar() === 0) return 0;
  return f.int(576, dev.mtu, `0 (off) or an integer from 576 to ${dev.mtu} (dev.mtu)`);
}

function readNetwork(m: MapView, key: "network" | "network6", bridge: boolean): IpPrefix | null {
  const f = m.opt(key);
  if (!f) {
    if (key === "network" && !bridge) m.missing(key);
    return null;
  }
  if (bridge) {
    f.fail("expected no network with bridge: true (bridged clients get no addresses from the server)");
  }
  if (key === "network") {
    const p = readPrefix(f, 4, " (put an IPv6 network in network6)");
    if (p.length > MAX_NETWORK_LENGTH) {
      f.fail(
        `expected a prefix of /${MAX_NETWORK_LENGTH} or shorter (room for clients), got ${
          JSON.stringify(p.text)
        }`,
      );
    }
    return p;
  }
  const p = readPrefix(f, 6, " (put an IPv4 network in network)");
  if (p.length < MIN_NETWORK6_LENGTH || p.length > MAX_NETWORK6_LENGTH) {
    f.fail(
      `expected a prefix length from /${MIN_NETWORK6_LENGTH} to /${MAX_NETWORK6_LENGTH}, got ${
        JSON.stringify(p.text)
      }`,
    );
  }
  return p;
}

function readClients(f: Field, section: ServerSection): Map<string, ClientOverride> {
  const m = f.map(null);
  const out = new Map<string, ClientOverride>();
  const owners = new Map<string, string>();
  for (const name of m.keys()) {
    const clientField = m.get(name)!;
    const override: ClientOverride = {
      name,
      disabled: false,
      address: null,
      address6: null,
      iroutes: [],
      iroutes6: [],
      push: emptyPush(),
      mesh: true,
    };
    out.set(name, override);
    if (clientField.isNull) continue;
    const clientMap = clientField.map(CLIENT_OVERRIDE_KEYS);
    override.disabled = readBool(clientMap, "disabled", false);
    const a4 = clientMap.opt("address");
    if (a4) override.address = checkStaticAddress(a4, section, 4);
    const a6 = clientMap.opt("address6");
    if (a6) override.address6 = checkStaticAddress(a6, section, 6);
    for (const a of [override.address, override.address6]) {
      if (!a) continue;
      const field = a.family === 4 ? a4! : a6!;
      const other = owners.get(a.text);
      if (other !== undefined) {
        field.fail(
          `expected an address no other client uses, got ${JSON.stringify(a.text)} (also given to ${other})`,
        );
      }
      owners.set(a.text, name);
    }
    override.iroutes = readPrefixList(clientMap, "iroutes", 4);
    override.iroutes6 = readPrefixList(clientMap, "iroutes6", 6);
    override.push = readPush(clientMap);
    override.mesh = readBool(clientMap, "mesh", true);
  }
  return out;
}

function checkStaticAddress(f: Field, section: ServerSection, family: 4 | 6): IpAddress {
  const hint = family === 4 ? " (put IPv6 addresses in address6)" : " (put IPv4 addresses in address)";
  const addr = readAddress(f, family, hint);
  const netKey = family === 4 ? "server.network" : "server.network6";
  const net = family === 4 ? section.network : section.network6;
  const own = family === 4 ? section.address : section.address6;
  const got = JSON.stringify(addr.text);
  if (section.bridge) {
    f.fail("expected no static address with bridge: true (bridged clients get no addresses)");
  }
  if (!net) f.fail(`expected no address6 without ${netKey}, got ${got}`);
  if (!prefixContains(net, addr.bytes)) {
    f.fail(`expected an address inside ${netKey} ${net.text}, got ${got}`);
  }
  if (own && addr.text === own.text) f.fail(`expected a client address, got the server's own address ${got}`);
  if (addr.text === net.address) f.fail(`expected a client address, got the network address ${got}`);
  if (family === 6) return addr;
  const offset = hostOffset(net, addr.bytes);
  const size = hostCount(net);
  if (offset === size - 1) f.fail(`expected a client address, got the broadcast address ${got}`);
  if (section.topology === "net30") {
    // Each client owns a /30: network, server endpoint (+1), client endpoint (+2), broadcast.
    // The first /30 is the server's own.
    if (offset % 4 !== 2 || offset < 4) {
      const block = Math.max(1, Math.floor(offset / 4));
      const example = addressAt(net, block * 4 + 2).text;
      f.fail(`expected the client endpoint of a /30 in net30 topology (such as ${example}), got ${got}`);
    }
  } else if (section.topology === "p2p" && offset === 2) {
    f.fail(
      `expected a client address, got ${got} (the server's point-to-point peer address in p2p topology)`,
    );
  }
  return addr;
}

/** Addresses in `net`, capped at 2^32 (offsets are computed on the low 32 bits). */
function hostCount(net: IpPrefix): number {
  const hostBits = net.bytes.length * 8 - net.length;
  return hostBits >= 32 ? 2 ** 32 : 2 ** hostBits;
}

/** `server.pool_range: { start, end }`: IPv4 addresses inside server.network, start <= end. */
function readPoolRange(m: MapView, network: IpPrefix | null): { start: IpAddress; end: IpAddress } | null {
  const f = m.opt("pool_range");
  if (!f) return null;
  if (network === null) return f.fail("expected server.network to be set (the range lies inside it)");
  const r = f.map(POOL_RANGE_KEYS);
  const startField = r.req("start");
  const endField = r.req("end");
  const start = readAddress(startField, 4);
  const end = readAddress(endField, 4);
  for (const [field, a] of [[startField, start], [endField, end]] as const) {
    if (!prefixContains(network, a.bytes)) {
      field.fail(`expected an address inside ${network.text}, got ${a.text}`);
    }
  }
  if (compareIpv4(start, end) > 0) {
    endField.fail(`expected an address not below start ${start.text}, got ${end.text}`);
  }
  return { start, end };
}

function compareIpv4(a: IpAddress, b: IpAddress): number {
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return a.bytes[i] - b.bytes[i];
  return 0;
}
