/** Every contender, in the order each round runs them. */

import type { Contender } from "../contender.ts";
import { openvpnContender } from "./openvpn.ts";
import { tsvpnContender } from "./tsvpn.ts";
import { vethContender } from "./veth.ts";
import { wireguardGoContender } from "./wireguard_go.ts";

/** The reference rows the ratio columns divide by. */
export const OPENVPN_REFERENCE = "openvpn-aes256gcm";
export const WIREGUARD_REFERENCE = "wireguard-go";

export const CONTENDERS: readonly Contender[] = [
  vethContender,
  openvpnContender("openvpn-aes256gcm", "AES-256-GCM"),
  openvpnContender("openvpn-chacha", "CHACHA20-POLY1305"),
  wireguardGoContender,
  tsvpnContender("tsvpn-udp-aes256gcm", { proto: "udp", cipher: "AES-256-GCM" }),
  tsvpnContender("tsvpn-udp-aes128gcm", { proto: "udp", cipher: "AES-128-GCM" }),
  tsvpnContender("tsvpn-udp-chacha", { proto: "udp", cipher: "CHACHA20-POLY1305" }),
  tsvpnContender("tsvpn-tcp", { proto: "tcp", cipher: "AES-256-GCM" }),
  tsvpnContender("tsvpn-server+openvpn-client", { proto: "udp", cipher: "AES-256-GCM" }, "openvpn"),
];

export const BASELINE_NAMES = ["veth", "openvpn-aes256gcm", "openvpn-chacha", "wireguard-go"];

export const CONTENDER_NAMES: readonly string[] = CONTENDERS.map((c) => c.name);
