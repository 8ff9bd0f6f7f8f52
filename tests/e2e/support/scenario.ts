/**
 * One e2e scenario: a PKI, the lab (switch + server host "srv" at
 * 172.31.0.1), the tsvpn server, and stock openvpn clients on 172.31.0.1x,
 * all started in parallel and torn down in `run`'s finally.
 */

import { createE2ePki, type E2ePki } from "./pki.ts";
import { E2eLab, type LoggedProcess, serverYaml } from "./lab.ts";

export interface ClientSpec {
  name: string;
  proto?: "udp" | "tcp";
  tlsCrypt?: boolean;
  /** Extra openvpn arguments. */
  extra?: string[];
}

export interface Scenario {
  lab: E2eLab;
  pki: E2ePki;
  srv: string;
  server: LoggedProcess;
  /** Client namespaces by name. */
  ns: Record<string, string>;
  clients: Record<string, LoggedProcess>;
  /** Starts more clients (in parallel) and waits until their tunnels are up. */
  connect(specs: ClientSpec[]): Promise<void>;
}

export interface ScenarioOptions {
  clients: ClientSpec[];
  /** Certificates to issue besides the clients'. */
  extraNames?: string[];
  /** The server: section (indented by two spaces). */
  server: string;
  proto?: "udp" | "tcp";
  dev?: "tun" | "tap";
  tlsCrypt?: boolean;
  /** sysctl net.ipv4.ip_forward in the server namespace. @default 0 */
  ipForward?: 0 | 1;
  /** Runs before the server starts (e.g. to add a LAN namespace). */
  before?: (s: Omit<Scenario, "server" | "connect">) => Promise<void>;
  /** Extra top-level lines of the generated server YAML (e.g. the management listener). */
  extra?: string[];
  /** Overrides the generated server YAML. */
  yaml?: (pki: E2ePki) => string;
  /** V8 flags for the server (the soak's `--trace-gc`). */
  serverV8Flags?: string[];
}

export async function runScenario(o: ScenarioOptions, body: (s: Scenario) => Promise<void>): Promise<void> {
  const names = [...new Set([...o.clients.map((c) => c.name), ...(o.extraNames ?? [])])];
  const pki = await createE2ePki(names);
  const lab = new E2eLab(pki.dir);
  try {
    await lab.init();
    const srv = await lab.host("srv", "172.31.0.1/24");
    await lab.exec(srv, ["sysctl", "-q", "-w", `net.ipv4.ip_forward=${o.ipForward ?? 0}`]);
    await lab.exec(srv, ["sysctl", "-q", "-w", `net.ipv6.conf.all.forwarding=${o.ipForward ?? 0}`]);
    const ns: Record<string, string> = {};
    const clients: Record<string, LoggedProcess> = {};
    let hostNo = 10;
    const addHosts = async (specs: ClientSpec[]) => {
      for (const c of specs) {
        if (!ns[c.name]) ns[c.name] = await lab.host(c.name.slice(0, 12), `172.31.0.${++hostNo}/24`);
      }
    };
    await addHosts(o.clients);
    const partial = { lab, pki, srv, ns, clients };
    await o.before?.(partial);
    const yaml = o.yaml ? o.yaml(pki) : serverYaml({
      pki: {
        ca: pki.ca,
        cert: pki.cert,
        key: pki.key,
        crl: pki.crl,
        tlsCrypt: o.tlsCrypt ? pki.tlsCrypt : undefined,
      },
      proto: o.proto,
      dev: o.dev,
      server: o.server,
      extra: o.extra,
    });
    const server = await lab.startServer(srv, "server", yaml, o.serverV8Flags);
    const connect = async (specs: ClientSpec[]) => {
      await addHosts(specs);
      await Promise.all(specs.map(async (c) => {
        const profile = await pki.profile(c.name, "172.31.0.1:1194", {
          proto: c.proto ?? o.proto,
          tlsCrypt: c.tlsCrypt ?? o.tlsCrypt,
        });
        const extra = o.dev === "tap" ? ["--dev", "tap", ...(c.extra ?? [])] : c.extra ?? [];
        const p = lab.startClient(ns[c.name], c.name, profile, extra);
        clients[c.name] = p;
        await p.waitFor(/Initialization Sequence Completed/, 25_000);
      }));
    };
    await connect(o.clients);
    await body({ ...partial, server, connect });
  } finally {
    await lab.close();
    await pki.cleanup();
  }
}

export function inet(
  addrs: { local: string; prefixlen: number; address?: string; family: string }[],
): string[] {
  return addrs.filter((a) => a.family === "inet").map((a) =>
    a.address && a.address !== a.local
      ? `${a.local} peer ${a.address}/${a.prefixlen}`
      : `${a.local}/${a.prefixlen}`
  );
}
