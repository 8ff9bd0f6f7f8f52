/**
 * The client's MSS clamp (issue 16: a redirect-gateway client behind a
 * small-MTU uplink works without the server's help). With `mssfix: auto` the
 * largest inner packet is what still fits one datagram on the link the kernel
 * uses towards the server, so TCP through the tunnel never needs the outer
 * datagrams fragmented; a number is taken as given, 0 turns clamping off.
 */

import type { Proto } from "../config/schema.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { Logger } from "../log/log.ts";

/** P_DATA_V2 with an AEAD cipher: opcode + peer-id (4), packet id (4), tag (16). */
export const DATA_CHANNEL_OVERHEAD = 24;
/** TCP transport: a 20-byte TCP header (no options counted) and the 2-byte packet length. */
const TCP_TRANSPORT_OVERHEAD = 22;
const UDP_HEADER = 8;
const MIN_MSSFIX = 576;

/** What the client knows of the way to the server. */
export interface Uplink {
  /** MTU of the link the route to the server leaves by. */
  mtu: number;
  family: 4 | 6;
  proto: Proto;
}

/** Largest inner packet whose datagram still fits the uplink's MTU. */
export function innerPacketLimit(uplink: Uplink): number {
  const ipHeader = uplink.family === 6 ? 40 : 20;
  const transport = uplink.proto === "tcp" ? TCP_TRANSPORT_OVERHEAD : UDP_HEADER;
  return uplink.mtu - ipHeader - transport - DATA_CHANNEL_OVERHEAD;
}

/** The mssfix value the datapath clamps with: the setting, or "auto" bounded by the tunnel and uplink MTUs. */
export function clientMssfix(setting: number | "auto", tunMtu: number, uplink: Uplink | null): number {
  if (setting !== "auto") return setting;
  const limit = uplink ? innerPacketLimit(uplink) : tunMtu;
  // 576, the smallest mssfix a config may give: a smaller uplink is misreported, not real.
  return Math.max(Math.min(tunMtu, limit), MIN_MSSFIX);
}

/** The uplink towards `server` as the kernel routes it now; null when it cannot be told. */
export async function lookUpUplink(net: NetConfig, server: string, proto: Proto): Promise<Uplink | null> {
  try {
    const route = await net.routeGet(server);
    if (!route.dev) return null;
    const link = await net.linkByName(route.dev);
    return { mtu: link.mtu, family: route.family, proto };
  } catch {
    return null;
  }
}

/** Where the connection goes, for the uplink lookup; `net` null = the host cannot be asked. */
export interface UplinkTarget {
  net: NetConfig | null;
  server: string;
  proto: Proto;
}

/** The client's clamp setting, applied to its datapath after every connect; logs when the value changes. */
export class UplinkClamp {
  readonly #setting: number | "auto";
  readonly #log: Logger;
  /** The clamp in force (-1: none set yet). */
  #mssfix = -1;

  constructor(setting: number | "auto", log: Logger) {
    this.#setting = setting;
    this.#log = log;
  }

  async apply(
    datapath: { setMssfix(mssfix: number): void },
    to: UplinkTarget,
    tunMtu: number,
  ): Promise<void> {
    const uplink = this.#setting === "auto" && to.net
      ? await lookUpUplink(to.net, to.server, to.proto)
      : null;
    const mssfix = clientMssfix(this.#setting, tunMtu, uplink);
    if (mssfix === this.#mssfix) return;
    this.#mssfix = mssfix;
    datapath.setMssfix(mssfix);
    this.#log.info("TCP MSS clamp", {
      mssfix,
      mss: mssfix > 40 ? mssfix - 40 : "off",
      uplinkMtu: uplink?.mtu ?? "-",
    });
  }
}
