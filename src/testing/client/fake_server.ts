/**
 * The in-process client rig of src/client/ tests: a stock-like server
 * (FakeServer: real ControlSessions on the fake network, data ignored), the
 * push it sends, a fake host, a client config, and `start()`, which runs a
 * real client against them with the host, device and transport faked.
 */

import assert from "node:assert/strict";
import { parseIpv4 } from "../../addr/ip.ts";
import { parseConfig } from "../../config/load.ts";
import type { ClientConfig } from "../../config/schema.ts";
import { createControlWrap } from "../../control/control_wrap.ts";
import type { PushOptions } from "../../control/push_options.ts";
import { ControlSession, type ControlSessionOptions } from "../../control/session.ts";
import type { ManualClock } from "../control/clock.ts";
import type { TestPki } from "../control/pki.ts";
import { pkiVerifier } from "../../control/verifier.ts";
import { FakeDevice } from "../datapath/fake_device.ts";
import type { FakeNetwork, FakeSocket } from "../datapath/fake_network.ts";
import { EndpointSlots } from "../../device/datagram_socket.ts";
import { Logger } from "../../log/log.ts";
import { type ClientHandle, startClient } from "../../client/client.ts";
import type { ConnectionEnd } from "../../client/connection.ts";
import { FakeNetConfig } from "./net_config.ts";

const TLS_CRYPT_KEY = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 3) & 0xff);
const HARD_RESET_CLIENT_V2 = 7;

/** A stock-like server on the fake network: one ControlSession per client hard reset, data ignored. */
export class FakeServer {
  readonly sock: FakeSocket;
  readonly sessions: ControlSession[] = [];
  /** While true every datagram is dropped (a dead server). */
  silent = false;
  /** Data-channel packets received (counted even while silent); the data itself is ignored. */
  dataPackets = 0;
  /** Where the last datagram came from (sendRaw's destination). */
  readonly #lastFrom = new EndpointSlots(1);
  #closed = false;

  constructor(
    net: FakeNetwork,
    address: string,
    pki: TestPki,
    push: PushOptions,
    extra: Partial<ControlSessionOptions> = {},
  ) {
    const sock = net.socket(parseIpv4(address), 1194);
    this.sock = sock;
    const bufs = [new Uint8Array(2048)];
    const sizes = new Int32Array(1);
    const from = new EndpointSlots(1);
    const byPort = new Map<number, ControlSession>();
    (async () => {
      while (!this.#closed) {
        const n = await sock.receiveBatch(bufs, sizes, from, 0);
        if (n === 0) return;
        if ((bufs[0][0] >>> 3) === 9) this.dataPackets++;
        this.#lastFrom.copyRow(0, from, 0);
        if (this.silent) continue;
        const b = bufs[0].subarray(0, sizes[0]);
        const port = from.port(0);
        let s = byPort.get(port);
        if ((b[0] >>> 3) === HARD_RESET_CLIENT_V2 && (!s || s.closed)) {
          const reply = new EndpointSlots(1);
          reply.copyRow(0, from, 0);
          s = new ControlSession({
            role: "server",
            credentials: pki.server,
            verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "clientAuth" }),
            wrap: createControlWrap({ mode: "tls-crypt", key: TLS_CRYPT_KEY }, "server"),
            send: (p) => {
              if (!this.silent) sock.send(p, 0, p.length, reply, 0);
            },
            peerId: 0,
            pushOptions: () => push,
            ...extra,
          });
          byPort.set(port, s);
          this.sessions.push(s);
        }
        if ((b[0] >>> 3) < 9 && (b[0] >>> 3) !== 6) s?.receive(b.slice());
      }
    })();
  }

  /** Sends `bytes` as they are to the endpoint the last datagram came from, even while silent. */
  sendRaw(bytes: Uint8Array): void {
    this.sock.send(bytes, 0, bytes.length, this.#lastFrom, 0);
  }

  /** Graceful shutdown of every session: RESTART to clients that support exit notification. */
  restartAll(): void {
    for (const s of this.sessions) s.close("server restarting", true);
  }

  close(): void {
    this.#closed = true;
    for (const s of this.sessions) s.close("test over", false);
    this.sock.close();
  }
}

export const push: PushOptions = {
  topology: "subnet",
  ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
  routeGateway: "10.8.0.1",
  routes: [{ network: "10.20.0.0", netmask: "255.255.0.0" }],
  redirectGateway: ["def1"],
};

export function host(): FakeNetConfig {
  const net = new FakeNetConfig();
  net.addLink("eth0");
  net.addLink("tun0", 1500, false);
  net.seedAddress({ dev: "eth0", address: "192.168.1.10", prefixLen: 24 });
  net.seedRoute({ dst: "0.0.0.0/0", gateway: "192.168.1.1", dev: "eth0" });
  return net;
}

export async function config(pki: TestPki, dir: string, remotes: string[]): Promise<ClientConfig> {
  const tc = `${dir}/tc.key`;
  const hex = Array.from(TLS_CRYPT_KEY, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(
    tc,
    `-----BEGIN OpenVPN Static key V1-----\n${
      hex.match(/.{32}/g)!.join("\n")
    }\n-----END OpenVPN Static key V1-----\n`,
  );
  const yaml = [
    "mode: client",
    "remotes:",
    ...remotes.map((r) => `  - { host: ${r}, port: 1194 }`),
    "pki:",
    `  ca: ${pki.paths.ca}`,
    `  cert: ${pki.paths.client}`,
    `  key: ${pki.paths.clientKey}`,
    `  tls_crypt: ${tc}`,
    "server_name: server",
    "dev: { type: tun, name: tun0 }",
  ].join("\n");
  const c = parseConfig(yaml, `${dir}/client.yaml`) as ClientConfig;
  c.reconnect = { initialDelay: 0.05, maxDelay: 0.2 };
  return c;
}

export interface Rig {
  h: ClientHandle;
  net: FakeNetConfig;
  device: FakeDevice;
  lines: string[];
  ends: ConnectionEnd[];
}

/** What start() can change beyond the defaults: the datapath clock, a host journal, the host itself. */
export interface StartExtras {
  now?: () => number;
  journalDir?: string;
  /** The host to change (a new fake host by default). */
  net?: FakeNetConfig;
}

export function start(
  c: ClientConfig,
  fnet: FakeNetwork,
  handshakeTimeoutMs = 4000,
  retryClock?: ManualClock,
  extras: StartExtras = {},
): Rig {
  const net = extras.net ?? host();
  const device = new FakeDevice("tun", 1500, "tun0");
  const lines: string[] = [];
  let port = 40000;
  const h = startClient(c, {
    log: new Logger({ level: "info", sink: (l) => lines.push(l) }),
    net,
    openDevice: () => device,
    openTransport: (remote) => {
      assert.equal(remote.proto, "udp");
      return Promise.resolve(fnet.socket(parseIpv4("192.168.1.10"), port++));
    },
    random: () => 0.5,
    firstResponseTimeoutMs: 400,
    handshakeTimeoutMs,
    dhcpServer: () => Promise.resolve(null),
    retryClock,
    now: extras.now,
    journalDir: extras.journalDir,
  });
  const ends: ConnectionEnd[] = [];
  h.on("disconnected", (e) => ends.push(e));
  return { h, net, device, lines, ends };
}
