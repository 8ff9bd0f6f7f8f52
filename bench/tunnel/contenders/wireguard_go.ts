/**
 * wireguard-go (Debian) configured with wg(8) and ip(8), as its README does.
 * The UAPI socket lives in /run/wireguard/<iface>.sock, a path shared by all
 * namespaces, so interface names carry the lab id.
 */

import {
  type BenchHost,
  CLIENT_UNDERLAY,
  type Contender,
  type RunningTunnel,
  SERVER_UNDERLAY,
  stopAll,
  waitForTunnel,
  type Watched,
} from "../contender.ts";

export const WG_SERVER_ADDRESS = "10.203.0.1";
export const WG_CLIENT_ADDRESS = "10.203.0.2";
export const WG_PORT = 51820;
const STARTUP_MS = 15_000;

/** Interface names for one lab: at most 15 characters, unique per run. */
export function wgInterfaceNames(labId: string): { server: string; client: string } {
  const id = labId.replace(/[^0-9a-z]/g, "").slice(0, 8);
  return { server: `wg${id}s`, client: `wg${id}c` };
}

async function genKeyPair(host: BenchHost): Promise<{ priv: string; pub: string }> {
  const priv = (await host.lab.exec(host.server, ["wg", "genkey"])).stdout.trim();
  const pub = (await host.lab.exec(host.server, ["wg", "pubkey"], { stdin: priv + "\n" })).stdout.trim();
  return { priv, pub };
}

async function waitForLink(host: BenchHost, ns: string, name: string, w: Watched): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await host.lab.exec(ns, ["ip", "link", "show", "dev", name], { check: false });
    if (r.code === 0) return;
    if (!w.proc.running) return; // waitForTunnel reports the exit
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function removeSockets(names: string[]): Promise<void> {
  for (const n of names) {
    await Deno.remove(`/run/wireguard/${n}.sock`).catch(() => {});
  }
}

export const wireguardGoContender: Contender = {
  name: "wireguard-go",
  kind: "wireguard",
  description: "wireguard-go (Debian) + wg(8), UDP, ChaCha20-Poly1305, MTU 1420 (its default)",
  programs: ["wireguard-go", "wg"],
  async setup(host): Promise<RunningTunnel> {
    const names = wgInterfaceNames(host.id);
    const serverKeys = await genKeyPair(host);
    const clientKeys = await genKeyPair(host);
    const watched: Watched[] = [];
    const cleanup = async () => {
      await stopAll(watched);
      await removeSockets([names.server, names.client]);
    };
    try {
      const sides = [
        {
          ns: host.server,
          role: "server" as const,
          iface: names.server,
          keys: serverKeys,
          peer: clientKeys.pub,
          address: WG_SERVER_ADDRESS,
          allowed: `${WG_CLIENT_ADDRESS}/32`,
          endpoint: `${CLIENT_UNDERLAY}:${WG_PORT}`,
        },
        {
          ns: host.client,
          role: "client" as const,
          iface: names.client,
          keys: clientKeys,
          peer: serverKeys.pub,
          address: WG_CLIENT_ADDRESS,
          allowed: `${WG_SERVER_ADDRESS}/32`,
          endpoint: `${SERVER_UNDERLAY}:${WG_PORT}`,
        },
      ];
      for (const s of sides) {
        // -f: stay in the foreground, so the pid we hold is the daemon's.
        const w: Watched = { role: s.role, proc: host.lab.spawn(s.ns, ["wireguard-go", "-f", s.iface]) };
        watched.push(w);
        await waitForLink(host, s.ns, s.iface, w);
        const keyFile = `${host.workDir}/${s.iface}.key`;
        await Deno.writeTextFile(keyFile, s.keys.priv + "\n", { mode: 0o600 });
        await host.lab.exec(s.ns, [
          "wg",
          "set",
          s.iface,
          "listen-port",
          String(WG_PORT),
          "private-key",
          keyFile,
          "peer",
          s.peer,
          "allowed-ips",
          s.allowed,
          "endpoint",
          s.endpoint,
        ]);
        await host.lab.exec(s.ns, ["ip", "addr", "add", `${s.address}/24`, "dev", s.iface]);
        await host.lab.exec(s.ns, ["ip", "link", "set", s.iface, "up"]);
      }
      await waitForTunnel(host, WG_SERVER_ADDRESS, watched, STARTUP_MS);
      return {
        serverAddress: WG_SERVER_ADDRESS,
        processes: watched.map((w) => ({ role: w.role, program: "wireguard-go", pid: w.proc.pid })),
        notes: { cipher: "CHACHA20-POLY1305" },
        stop: cleanup,
      };
    } catch (err) {
      await cleanup();
      throw err;
    }
  },
};
