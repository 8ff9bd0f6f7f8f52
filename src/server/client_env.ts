/**
 * The environment a server script (and the management interface's
 * >CLIENT:ESTABLISHED / DISCONNECT blocks) sees for one client, with OpenVPN's
 * variable names (openvpn(8), "Environmental Variables"): common_name,
 * X509_0_CN, tls_serial_0 / tls_serial_hex_0, trusted_ip / trusted_port
 * (trusted_ip6 for an IPv6 peer) and their untrusted_ twins, username, the
 * client's IV_* peer info, ifconfig_pool_remote_ip with ifconfig_pool_netmask
 * (subnet) or ifconfig_pool_local_ip (net30, p2p), ifconfig_pool_remote_ip6,
 * dev, tun_mtu, time_unix / time_ascii (when the client connected),
 * script_context and daemon; at disconnect also bytes_received, bytes_sent
 * and time_duration.
 */

export interface ClientEnvInput {
  commonName: string;
  /** "1.2.3.4:5678" or "[2001:db8::1]:5678". */
  remote: string;
  /** Certificate serial, upper-case hex ("" when unknown). */
  serial: string;
  username: string;
  peerInfo: ReadonlyMap<string, string>;
  /** The pushed ifconfig arguments ("ADDR NETMASK" or "LOCAL REMOTE"), or null. */
  ifconfig: string | null;
  /** The pushed ifconfig-ipv6 arguments ("ADDR/BITS SERVER"), or null. */
  ifconfigIpv6: string | null;
  topology: string;
  dev: string;
  tunMtu: number;
  /** Milliseconds since the epoch when the client connected. */
  connectedAt: number;
}

/** What the registry tells the management interface (>CLIENT:ESTABLISHED/DISCONNECT). */
export interface ClientEvents {
  /** `cid` is the control listener's peer id; `env` OpenVPN's client environment (clientEnv). */
  established(cid: number, env: Record<string, string>): void;
  disconnected(cid: number, env: Record<string, string>): void;
}

export interface DisconnectFigures {
  /** Bytes received from the client (its bytes_received in OpenVPN's naming). */
  bytesReceived: number;
  bytesSent: number;
  /** Milliseconds since the epoch now. */
  now: number;
}

export function clientEnv(c: ClientEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    common_name: c.commonName,
    X509_0_CN: c.commonName,
    dev: c.dev,
    tun_mtu: String(c.tunMtu),
    script_context: "init",
    daemon: "0",
    time_unix: String(Math.floor(c.connectedAt / 1000)),
    time_ascii: new Date(c.connectedAt).toUTCString(),
  };
  addRemote(env, c.remote);
  addSerial(env, c.serial);
  if (c.username) env.username = c.username;
  for (const [k, v] of c.peerInfo) if (/^IV_[A-Za-z0-9_]+$/.test(k)) env[k] = v;
  if (c.ifconfig) {
    const [address, second] = c.ifconfig.split(" ");
    env.ifconfig_pool_remote_ip = address;
    if (c.topology === "subnet") env.ifconfig_pool_netmask = second;
    else env.ifconfig_pool_local_ip = second;
  }
  if (c.ifconfigIpv6) {
    const [withBits] = c.ifconfigIpv6.split(" ");
    const [address, bits] = withBits.split("/");
    env.ifconfig_pool_remote_ip6 = address;
    env.ifconfig_pool_ip6_netbits = bits;
  }
  return env;
}

/** `env` plus the client-disconnect figures. */
export function disconnectEnv(env: Record<string, string>, f: DisconnectFigures, connectedAt: number) {
  return {
    ...env,
    bytes_received: String(f.bytesReceived),
    bytes_sent: String(f.bytesSent),
    time_duration: String(Math.max(0, Math.round((f.now - connectedAt) / 1000))),
  };
}

function addRemote(env: Record<string, string>, remote: string): void {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(remote);
  if (!m) return;
  const [, ip, port] = m;
  const six = ip.includes(":");
  env[six ? "trusted_ip6" : "trusted_ip"] = ip;
  env[six ? "untrusted_ip6" : "untrusted_ip"] = ip;
  env.trusted_port = port;
  env.untrusted_port = port;
}

function addSerial(env: Record<string, string>, serial: string): void {
  if (!/^[0-9A-Fa-f]+$/.test(serial)) return;
  const hex = serial.length % 2 === 0 ? serial : `0${serial}`;
  env.tls_serial_0 = BigInt(`0x${hex}`).toString();
  env.tls_serial_hex_0 = hex.toLowerCase().match(/../g)!.join(":");
}
