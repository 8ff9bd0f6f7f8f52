/**
 * Test fixture: the real server (startServer) and real tsvpn clients
 * (startClient) in one process, over the in-memory network of
 * src/testing/datapath/ (fake devices, FakeNetwork datagrams) and the fake
 * netlink of src/testing/client/net_config.ts. Nothing needs root; the only
 * real sockets a test may add are loopback ones (management, TCP).
 *
 *   client "tun0" ── FakeSocket 192.168.1.N:4xxxx ─┐
 *                                                   FakeNetwork ── FakeSocket 10.0.0.1:1194 ── server "tsvpn0"
 *   client "tun0" ── FakeSocket 192.168.1.M:4xxxx ─┘
 *
 * For tests only.
 */

import { parseIpv4 } from "../../addr/ip.ts";
import { type ClientHandle, startClient } from "../../client/client.ts";
import type { ConnectionEnd } from "../../client/connection.ts";
import { openTransport } from "../../client/dial.ts";
import { FakeNetConfig } from "../client/net_config.ts";
import { parseConfig } from "../../config/load.ts";
import type { ClientConfig, ServerConfig } from "../../config/schema.ts";
import { createTestPki, type TestPki } from "../control/pki.ts";
import { FakeDevice } from "../datapath/fake_device.ts";
import { FakeNetwork, type FakeSocket } from "../datapath/fake_network.ts";
import type { DatagramSocket, EndpointSlots } from "../../device/datagram_socket.ts";
import { Logger } from "../../log/log.ts";
import { issueCertificate } from "../../pki/ca.ts";
import { type ServerHandle, type ServerOptions, startServer } from "../../server/server.ts";

/** Where the server listens on the fake network. */
export const SERVER_ADDRESS = "10.0.0.1";
const TLS_CRYPT_KEY = Uint8Array.from({ length: 256 }, (_, i) => (i * 11 + 5) & 0xff);

/** Log lines kept in order; `waitFor` resolves on the first line (past or future) that matches. */
export class LogWatch {
  readonly lines: string[] = [];
  readonly #waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  logger(scope: string): Logger {
    return new Logger({ level: "info", scope, sink: (line) => this.#add(line) });
  }

  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${this.lines.join("\n")}`),
        );
      }, timeoutMs);
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  has(pattern: RegExp): boolean {
    return this.lines.some((l) => pattern.test(l));
  }

  #add(line: string): void {
    this.lines.push(line);
    for (const w of [...this.#waiters]) {
      if (!w.pattern.test(line)) continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(line);
    }
  }
}

/** Polls `get` every 10 ms until it returns a value other than undefined, at most `timeoutMs`. */
export async function until<T>(get: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A FakeSocket that can go silent in both directions (a client killed with -9, or unplugged). */
export class MutableSocket implements DatagramSocket {
  readonly #inner: FakeSocket;
  muted = false;

  constructor(inner: FakeSocket) {
    this.#inner = inner;
  }

  get localPort(): number {
    return this.#inner.localPort;
  }

  /** Datagrams waiting to be received. */
  get pending(): number {
    return this.#inner.pending;
  }

  /** Moves the socket to another source address, as a NAT rebinding does. */
  rebind(address: number): void {
    this.#inner.address = address;
  }

  async receiveBatch(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number) {
    for (;;) {
      const n = await this.#inner.receiveBatch(bufs, sizes, from, offset);
      if (n === 0 || !this.muted) return n;
    }
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    return this.muted || this.#inner.send(buf, offset, length, to, row);
  }

  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    return this.muted ? count : this.#inner.sendBatch(bufs, offsets, sizes, count, to, rows);
  }

  close(): void {
    this.#inner.close();
  }
}

export interface LabServer {
  handle: ServerHandle;
  device: FakeDevice;
  net: FakeNetConfig;
  /** The fake host before the server touched it. */
  netBefore: string[];
  log: LogWatch;
}

export interface LabClient {
  name: string;
  handle: ClientHandle;
  device: FakeDevice;
  net: FakeNetConfig;
  sockets: MutableSocket[];
  ends: ConnectionEnd[];
  log: LogWatch;
}

export interface ServerSetup {
  /** Lines under `server:` (indented two spaces). */
  server?: string[];
  /** More top-level YAML lines. */
  extra?: string[];
  dev?: "tun" | "tap";
  /** tcp listens on 127.0.0.1 at a free port (real loopback sockets); udp on the fake network. @default udp */
  proto?: "udp" | "tcp";
  keepalive?: string;
  /** Port options beyond the fakes (now, clock...). */
  options?: Partial<ServerOptions>;
  /** Writes the YAML to this file and passes it as `configPath`, so the server can reload it. */
  configPath?: string;
}

/** A PKI (client1, revoked1, an unrelated CA's intruder, plus `extraClients`) and a fake network. */
export class Lab {
  readonly pki: TestPki;
  readonly network = new FakeNetwork();
  readonly #tlsCryptPath: string;
  /** Certificate and key paths by client name. */
  readonly #credentials: Map<string, { cert: string; key: string }>;
  readonly #clients: LabClient[] = [];
  readonly #atClose: (() => Promise<void>)[] = [];
  #server: LabServer | null = null;
  #nextHost = 10;

  private constructor(pki: TestPki, tlsCryptPath: string, extra: Map<string, { cert: string; key: string }>) {
    this.pki = pki;
    this.#tlsCryptPath = tlsCryptPath;
    const p = pki.paths;
    this.#credentials = new Map([
      ["client1", { cert: p.client, key: p.clientKey }],
      ["revoked1", { cert: p.revoked, key: p.revokedKey }],
      ["intruder", { cert: p.foreign, key: p.foreignKey }],
      ...extra,
    ]);
  }

  static async create(extraClients: string[] = []): Promise<Lab> {
    const pki = await createTestPki();
    const extra = new Map<string, { cert: string; key: string }>();
    for (const name of extraClients) {
      const issued = await issueCertificate(`${pki.dir}/ca`, { name, type: "client" });
      extra.set(name, { cert: issued.certPath, key: issued.keyPath });
    }
    const path = `${pki.dir}/tc.key`;
    const hex = Array.from(TLS_CRYPT_KEY, (b) => b.toString(16).padStart(2, "0")).join("");
    const lines = hex.match(/.{32}/g)!.join("\n");
    await Deno.writeTextFile(
      path,
      `-----BEGIN OpenVPN Static key V1-----\n${lines}\n-----END OpenVPN Static key V1-----\n`,
    );
    return new Lab(pki, path, extra);
  }

  /** Certificate and key paths of a client the PKI issued ("client1", "revoked1", "intruder", extras). */
  credentials(name: string): { cert: string; key: string } {
    const found = this.#credentials.get(name);
    if (!found) throw new Error(`the test PKI has no client ${name}`);
    return found;
  }

  async startServer(setup: ServerSetup = {}): Promise<LabServer> {
    const dev = setup.dev ?? "tun";
    const tcp = setup.proto === "tcp";
    const yaml = [
      "mode: server",
      `listen: { host: ${tcp ? "127.0.0.1" : SERVER_ADDRESS}, port: 1194, proto: ${tcp ? "tcp" : "udp"} }`,
      `dev: { type: ${dev}, name: tsvpn0 }`,
      "pki:",
      `  ca: ${this.pki.paths.ca}`,
      `  cert: ${this.pki.paths.server}`,
      `  key: ${this.pki.paths.serverKey}`,
      `  crl: ${this.pki.paths.crl}`,
      `  tls_crypt: ${this.#tlsCryptPath}`,
      `keepalive: ${setup.keepalive ?? "{ interval: 2, timeout: 10 }"}`,
      ...(setup.extra ?? []),
      "server:",
      ...(setup.server ?? ["  network: 10.8.0.0/24"]),
      "",
    ].join("\n");
    const config = parseConfig(yaml, `${this.pki.dir}/server.yaml`) as ServerConfig;
    if (tcp) config.listen.port = 0;
    if (setup.configPath) await Deno.writeTextFile(setup.configPath, yaml);
    const device = new FakeDevice(dev, 1500, "tsvpn0");
    const net = new FakeNetConfig();
    net.addLink("tsvpn0", 1500, false);
    const netBefore = net.snapshot();
    const log = new LogWatch();
    const handle = await startServer(config, {
      log: log.logger("server"),
      net,
      openDevice: () => device,
      openSocket: ({ host, port }) => this.network.socket(parseIpv4(host), port),
      ...(setup.configPath ? { configPath: setup.configPath } : {}),
      ...setup.options,
    });
    this.#server = { handle, device, net, netBefore, log };
    return this.#server;
  }

  /**
   * Starts a tsvpn client with `name`'s certificate from its own address on
   * the fake network, or over TCP to 127.0.0.1:`tcpPort` (real loopback).
   */
  startClient(name: string, o: { tcpPort?: number } = {}): LabClient {
    const address = `192.168.1.${this.#nextHost++}`;
    const remote = o.tcpPort === undefined
      ? `{ host: ${SERVER_ADDRESS}, port: 1194 }`
      : `{ host: 127.0.0.1, port: ${o.tcpPort}, proto: tcp }`;
    const config = this.#clientConfig(this.credentials(name), remote);
    const device = new FakeDevice("tun", 1500, "tun0");
    const net = new FakeNetConfig();
    net.addLink("eth0");
    net.addLink("tun0", 1500, false);
    net.seedAddress({ dev: "eth0", address, prefixLen: 24 });
    net.seedRoute({ dst: "0.0.0.0/0", gateway: "192.168.1.1", dev: "eth0" });
    const log = new LogWatch();
    const sockets: MutableSocket[] = [];
    let port = 40000;
    const handle = startClient(config, {
      log: log.logger(name),
      net,
      openDevice: () => device,
      openTransport: (remoteOf, ...rest) => {
        if (remoteOf.proto === "tcp") return openTransport(remoteOf, ...rest);
        const socket = new MutableSocket(this.network.socket(parseIpv4(address), port++));
        sockets.push(socket);
        return Promise.resolve(socket);
      },
      random: () => 0.5,
      firstResponseTimeoutMs: 2000,
      handshakeTimeoutMs: 5000,
      dhcpServer: () => Promise.resolve(null),
    });
    const client: LabClient = { name, handle, device, net, sockets, ends: [], log };
    handle.on("disconnected", (e) => client.ends.push(e));
    this.#clients.push(client);
    return client;
  }

  #clientConfig(credentials: { cert: string; key: string }, remote: string): ClientConfig {
    const yaml = [
      "mode: client",
      "remotes:",
      `  - ${remote}`,
      "pki:",
      `  ca: ${this.pki.paths.ca}`,
      `  cert: ${credentials.cert}`,
      `  key: ${credentials.key}`,
      `  tls_crypt: ${this.#tlsCryptPath}`,
      "server_name: server",
      "dev: { type: tun, name: tun0 }",
    ].join("\n");
    const config = parseConfig(yaml, `${this.pki.dir}/client.yaml`) as ClientConfig;
    config.reconnect = { initialDelay: 0.05, maxDelay: 0.2 };
    return config;
  }

  /** Runs `fn` first when the lab closes (a management interface, say). */
  onClose(fn: () => Promise<void>): void {
    this.#atClose.push(fn);
  }

  /** Stops what onClose registered, every client, then the server, then removes the PKI; safe after a failure. */
  async close(): Promise<void> {
    try {
      for (const fn of this.#atClose) await fn();
      for (const client of this.#clients) client.handle.stop();
      await Promise.all(this.#clients.map((c) => c.handle.done));
      await this.#server?.handle.stop("test over");
    } finally {
      await this.pki.cleanup();
    }
  }
}
