/**
 * Readers for `iperf3 -J` reports. Figures are receiver-side: what crossed
 * the tunnel, not what the sender managed to hand to its socket.
 */

export interface TcpResult {
  /** Receiver-side goodput, bits per second. */
  bitsPerSecond: number;
  /** Bytes the receiver got. */
  bytes: number;
  seconds: number;
  /** Sender's TCP retransmissions (absent on some kernels). */
  retransmits: number | null;
}

export interface UdpResult {
  /** Datagrams delivered to the receiver per second. */
  packetsPerSecond: number;
  /** Datagrams the sender sent. */
  sent: number;
  /** Datagrams the receiver got. */
  received: number;
  lostPercent: number;
  seconds: number;
}

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`iperf3 report has no ${what}`);
  }
  return v as Json;
}

function num(o: Json, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`iperf3 report has no number ${what}.${key}`);
  }
  return v;
}

/** Parses the text, throwing iperf3's own `error` field when it reported one. */
function report(text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`iperf3 output is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const root = obj(parsed, "top-level object");
  if (typeof root.error === "string") throw new Error(`iperf3: ${root.error}`);
  return root;
}

/** Reads a TCP test (either direction; `-R` swaps who receives, not the fields). */
export function parseIperfTcp(text: string): TcpResult {
  const end = obj(report(text).end, "end section");
  const received = obj(end.sum_received, "end.sum_received");
  const sent = obj(end.sum_sent, "end.sum_sent");
  const retransmits = typeof sent.retransmits === "number" ? sent.retransmits : null;
  return {
    bitsPerSecond: num(received, "bits_per_second", "sum_received"),
    bytes: num(received, "bytes", "sum_received"),
    seconds: num(received, "seconds", "sum_received"),
    retransmits,
  };
}

/**
 * Reads a UDP test. Delivered datagrams = packets − lost_packets as the
 * receiver counted them (iperf3 ≥ 3.9 reports them under sum_received; older
 * versions under sum).
 */
export function parseIperfUdp(text: string): UdpResult {
  const end = obj(report(text).end, "end section");
  const recv = obj(end.sum_received ?? end.sum, "end.sum_received");
  const packets = num(recv, "packets", "sum_received");
  const lost = num(recv, "lost_packets", "sum_received");
  const seconds = num(recv, "seconds", "sum_received");
  const sentSum = end.sum_sent === undefined ? recv : obj(end.sum_sent, "end.sum_sent");
  const sent = num(sentSum, "packets", "sum_sent");
  const received = Math.max(0, packets - lost);
  return {
    packetsPerSecond: seconds > 0 ? received / seconds : 0,
    sent,
    received,
    lostPercent: packets > 0 ? (100 * lost) / packets : 0,
    seconds,
  };
}
