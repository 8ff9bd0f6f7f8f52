/**
 * OpenVPN's per-client environment for the management interface's >CLIENT:ESTABLISHED and
 * >CLIENT:DISCONNECT blocks: common_name, username, trusted_ip/trusted_port, the pool addresses,
 * time_unix, the IV_* peer info, and (added at disconnect) byte counts and duration.
 */

import type { AddressPool } from "../pool/address_pool.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { PC_BYTES_IN, PC_BYTES_OUT } from "../datapath/peer_table.ts";
import { authScriptEnv, splitRemote } from "./auth_script.ts";
import type { ClientRecord } from "./client_record.ts";

/** The environment of authorized client `rec`; `bytes` reads its datapath counters. */
export function clientEnv(
  rec: ClientRecord,
  pool: AddressPool | null,
  bytes?: { received: number; sent: number },
): Record<string, string> {
  const peer = rec.session.peer;
  const env: Record<string, string> = {};
  if (peer) {
    Object.assign(
      env,
      authScriptEnv({
        username: peer.username,
        password: "",
        commonName: peer.commonName,
        remote: rec.ctx.remote,
        peerInfo: peer.peerInfo,
        serial: peer.serial,
      }),
    );
    delete env.script_type;
    if (peer.username) env.username = peer.username.replace(/[^A-Za-z0-9_.@-]/g, "_");
  }
  for (const k of ["untrusted_ip", "untrusted_ip6", "untrusted_port"]) delete env[k];
  const { ip, port } = splitRemote(rec.ctx.remote);
  env[ip.includes(":") ? "trusted_ip6" : "trusted_ip"] = ip;
  env.trusted_port = port;
  if (rec.lease && pool) {
    const { ifconfig, ifconfigIpv6 } = pool.pushIfconfig(rec.lease);
    if (ifconfig) env.ifconfig_pool_remote_ip = ifconfig.split(" ")[0];
    if (ifconfigIpv6) env.ifconfig_pool_remote_ip6 = ifconfigIpv6.split(" ")[0].split("/")[0];
  }
  if (rec.connectedSince > 0) env.time_unix = String(Math.floor(rec.connectedSince / 1000));
  if (bytes) {
    env.bytes_received = String(bytes.received);
    env.bytes_sent = String(bytes.sent);
  }
  return env;
}

/** What the registry tells the management interface (>CLIENT:ESTABLISHED/DISCONNECT). */
export interface ClientEvents {
  /** `cid` is the control listener's peer id; `env` OpenVPN's client environment. */
  established(cid: number, env: Record<string, string>): void;
  disconnected(cid: number, env: Record<string, string>): void;
}

/** clientEnv at disconnect: with the byte counts and the duration (OpenVPN's client-disconnect variables). */
export function disconnectEnv(
  rec: ClientRecord,
  pool: AddressPool | null,
  dp: Datapath,
  nowMs: number,
): Record<string, string> {
  const peers = dp.peers;
  const env = clientEnv(rec, pool, {
    received: peers.counter(rec.peerId, PC_BYTES_IN),
    sent: peers.counter(rec.peerId, PC_BYTES_OUT),
  });
  env.time_duration = String(Math.round((nowMs - rec.connectedSince) / 1000));
  return env;
}
