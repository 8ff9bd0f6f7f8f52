/**
 * The lab of the tsvpn client tests (tests/e2e/client_*_test.ts):
 *
 *   +------- cli -------+          +----------- srv -----------+          +------- net -------+
 *   | tsvpn client      |          | the server under test     |          | "internet"        |
 *   | eth0 10.77.0.2/24 |==========| eth0 10.77.0.1/24         |          |                   |
 *   | default via .1    |          | eth1 10.78.0.1/24 ========|==========| eth0 10.78.0.2/24 |
 *   +-------------------+          | ip_forward on             |          | 10.8.0.0/24 via   |
 *                                  +---------------------------+          |   10.78.0.1 only  |
 *                                                                         +-------------------+
 *
 * "net" (only with `internet`) routes just the tunnel network back, so the
 * client reaches it only through the tunnel. The client runs as a Deno
 * script inside "cli" (src/testing/client/launch.ts); the test process stays
 * in the root namespace and checks with ip -j, ping and the files the client
 * writes. /etc/netns/<cli>/resolv.conf is what processes in "cli" read as
 * /etc/resolv.conf.
 */

import { E2eLab, type LoggedProcess, ROOT } from "./lab.ts";
import { createE2ePki, type E2ePki } from "./pki.ts";

const LAUNCH = `${ROOT}src/testing/client/launch.ts`;

export interface ClientNet {
  e: E2eLab;
  srv: string;
  cli: string;
  /** The "internet" host, or null without one. */
  net: string | null;
}

/** Builds the hosts in `e`, "net" only when `internet`. */
export async function clientTopology(e: E2eLab, internet: boolean): Promise<ClientNet> {
  const lab = e.lab;
  const srv = await lab.addNamespace("srv");
  const cli = await lab.addNamespace("cli");
  // No duplicate address detection: a link-local address leaving "tentative" would change the snapshots.
  for (const k of ["all", "default"]) {
    await e.exec(cli, ["sysctl", "-q", "-w", `net.ipv6.conf.${k}.accept_dad=0`]);
  }
  await lab.veth({ ns: srv, name: "eth0", address: "10.77.0.1/24" }, {
    ns: cli,
    name: "eth0",
    address: "10.77.0.2/24",
  });
  await e.exec(cli, ["ip", "route", "add", "default", "via", "10.77.0.1"]);
  let net: string | null = null;
  if (internet) {
    net = await lab.addNamespace("net");
    await lab.veth({ ns: srv, name: "eth1", address: "10.78.0.1/24" }, {
      ns: net,
      name: "eth0",
      address: "10.78.0.2/24",
    });
    await e.exec(net, ["ip", "route", "add", "10.8.0.0/24", "via", "10.78.0.1"]);
    await e.exec(srv, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  }
  // The kernel adds eth0's IPv6 link-local address and routes a moment after link-up: let it settle.
  await e.linkLocalReady(cli);
  return { e, srv, cli, net };
}

/**
 * Runs `fn` with alice's PKI and the hosts; afterwards removes the processes,
 * the namespaces, their /etc/netns entries and the PKI, also on failure.
 */
export async function withClientLab(
  internet: boolean,
  fn: (n: ClientNet, pki: E2ePki) => Promise<void>,
): Promise<void> {
  const pki = await createE2ePki(["alice"]);
  const e = new E2eLab(pki.dir);
  try {
    const n = await clientTopology(e, internet);
    await fn(n, pki);
  } finally {
    await e.close();
    await Deno.remove(`/etc/netns/${e.lab.id}`, { recursive: true }).catch(() => {});
    for (const ns of e.lab.namespaces) {
      await Deno.remove(`/etc/netns/${ns}`, { recursive: true }).catch(() => {});
    }
    await pki.cleanup();
  }
}

/** Writes the resolv.conf processes in `ns` see; returns its path (withClientLab removes it). */
export async function namespaceResolvConf(ns: string, text: string): Promise<string> {
  const dir = `/etc/netns/${ns}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/resolv.conf`, text);
  return `${dir}/resolv.conf`;
}

/**
 * A client config: alice's PKI, the server's name, a tun device tsvpn0, quick
 * re-dials, its host journal in the test's directory, then `body`.
 */
export function clientYaml(pki: E2ePki, body: string[]): string {
  return [
    "mode: client",
    "pki:",
    `  ca: ${pki.ca}`,
    `  cert: ${pki.caDir}/alice.crt`,
    `  key: ${pki.caDir}/alice.key`,
    `  tls_crypt: ${pki.tlsCrypt}`,
    "server_name: server",
    "dev: { type: tun, name: tsvpn0 }",
    "reconnect: { initial_delay: 1, max_delay: 2 }",
    `state_dir: ${pki.dir}/client-state`,
    ...body,
    "",
  ].join("\n");
}

/**
 * Starts the client in "cli" from `yaml` (written to the lab directory as
 * NAME.yaml); `options` go to src/testing/client/launch.ts (resolvConfPath, level, …).
 */
export async function startClient(
  n: ClientNet,
  name: string,
  yaml: string,
  options: Record<string, unknown> = {},
): Promise<LoggedProcess> {
  const path = `${n.e.dir}/${name}.yaml`;
  await Deno.writeTextFile(path, yaml);
  return n.e.spawnLogged(n.cli, name, [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    LAUNCH,
    path,
    JSON.stringify({ firstResponseTimeoutMs: 3000, handshakeTimeoutMs: 10_000, ...options }),
  ]);
}

/** What must be identical in "cli" before the client starts and after it exits. */
export async function hostSnapshot(n: ClientNet): Promise<string> {
  const r4 = await n.e.exec(n.cli, ["ip", "-j", "route", "show", "table", "all"]);
  const r6 = await n.e.exec(n.cli, ["ip", "-j", "-6", "route", "show", "table", "main"]);
  const a = await n.e.exec(n.cli, ["ip", "-j", "addr"]);
  return JSON.stringify(
    { r4: JSON.parse(r4.stdout), r6: JSON.parse(r6.stdout), a: JSON.parse(a.stdout) },
    null,
    1,
  );
}

export interface JRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

/** The main table of "cli" (IPv4, or IPv6 with `v6`), as `ip -j route` gives it. */
export async function routes(n: ClientNet, v6 = false): Promise<JRoute[]> {
  const r = await n.e.exec(n.cli, ["ip", "-j", ...(v6 ? ["-6"] : []), "route", "show"]);
  return JSON.parse(r.stdout) as JRoute[];
}

export function hasRoute(rs: JRoute[], dst: string, dev: string, gateway?: string): boolean {
  return rs.some((r) => r.dst === dst && r.dev === dev && (gateway === undefined || r.gateway === gateway));
}
