/**
 * One file to hand to a user: a client's certificate, key, the CA and the
 * tls-crypt key, either as a stock OpenVPN 2.6 profile (.ovpn with inline
 * blocks) or as a tsvpn client config (YAML with inline PEM, the keys that
 * src/config/client_config.ts reads).
 */
import { stringify } from "yaml";
import { activeRecord, readIndex } from "./ca_index.ts";
import { validateName } from "./ca.ts";
import { parseStaticKey } from "./static_key.ts";
import { TLS_CRYPT_FILE } from "./tls_crypt_key.ts";

export type BundleFormat = "yaml" | "ovpn";
export type BundleProto = "udp" | "tcp";

export interface BundleOptions {
  /** "HOST:PORT"; an IPv6 host is written "[2001:db8::1]:1194". */
  remote: string;
  format: BundleFormat;
  /** A tls-crypt key file; when absent DIR/tc.key is used if it exists. */
  tlsCryptKey?: string;
  /** @default "udp" */
  proto?: BundleProto;
}

export interface Remote {
  host: string;
  port: number;
}

/** Parses "HOST:PORT" or "[IPv6]:PORT"; throws RangeError naming the value. */
export function parseRemote(text: string): Remote {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([^:\s[\]]+):(\d+)$/.exec(text);
  if (m === null) throw new RangeError(`Invalid remote "${text}": expected HOST:PORT`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid remote "${text}": port must be 1 to 65535`);
  }
  return { host: m[1], port };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function ensureNewline(text: string): string {
  return text.endsWith("\n") ? text : text + "\n";
}

/** Builds the text of a client bundle for NAME from the CA in DIR. */
export async function bundle(dir: string, name: string, options: BundleOptions): Promise<string> {
  validateName(name);
  const remote = parseRemote(options.remote);
  const proto = options.proto ?? "udp";
  if (proto !== "udp" && proto !== "tcp") {
    throw new RangeError(`Invalid proto "${proto}": expected udp or tcp`);
  }
  const index = await readIndex(dir);
  const record = activeRecord(index, name);
  if (record === undefined) {
    const revoked = index.certs.some((c) => c.name === name);
    throw new Error(revoked ? `Certificate "${name}" is revoked` : `No certificate named "${name}"`);
  }
  if (record.type !== "client") throw new Error(`"${name}" is a server certificate; bundles are for clients`);
  const ca = await Deno.readTextFile(`${dir}/ca.crt`);
  const cert = await Deno.readTextFile(`${dir}/${name}.crt`);
  const key = await readOptional(`${dir}/${name}.key`);
  if (key === undefined) throw new Error(`${dir}/${name}.key is missing; the bundle needs the client's key`);
  let tlsCrypt: string | undefined;
  if (options.tlsCryptKey !== undefined) {
    tlsCrypt = await Deno.readTextFile(options.tlsCryptKey);
  } else {
    tlsCrypt = await readOptional(`${dir}/${TLS_CRYPT_FILE}`);
  }
  if (tlsCrypt !== undefined) parseStaticKey(tlsCrypt);

  const parts = { remote, proto, ca, cert, key, tlsCrypt };
  if (options.format === "ovpn") return ovpnProfile(parts);
  if (options.format === "yaml") return yamlConfig(parts);
  throw new RangeError(`Invalid format "${options.format}": expected yaml or ovpn`);
}

/** What both formats carry: PEM texts as read. */
interface BundleParts {
  remote: Remote;
  proto: BundleProto;
  ca: string;
  cert: string;
  key: string;
  tlsCrypt: string | undefined;
}

function ovpnProfile({ remote, proto, ca, cert, key, tlsCrypt }: BundleParts): string {
  const lines = [
    "client",
    "dev tun",
    `proto ${proto}`,
    `remote ${remote.host} ${remote.port}`,
    "nobind",
    "persist-key",
    "persist-tun",
    "remote-cert-tls server",
    "data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305",
    "verb 3",
  ];
  let text = lines.join("\n") + "\n";
  const block = (tag: string, body: string) => `<${tag}>\n${ensureNewline(body.trim())}</${tag}>\n`;
  text += block("ca", ca) + block("cert", cert) + block("key", key);
  if (tlsCrypt !== undefined) text += block("tls-crypt", tlsCrypt);
  return text;
}

function yamlConfig({ remote, proto, ca, cert, key, tlsCrypt }: BundleParts): string {
  const pki: Record<string, string> = {
    ca_pem: ensureNewline(ca.trim()),
    cert_pem: ensureNewline(cert.trim()),
    key_pem: ensureNewline(key.trim()),
  };
  if (tlsCrypt !== undefined) pki.tls_crypt_pem = ensureNewline(tlsCrypt.trim());
  return stringify({
    mode: "client",
    remotes: [{ host: remote.host, port: remote.port }],
    proto,
    dev: { type: "tun" },
    pki,
  });
}
