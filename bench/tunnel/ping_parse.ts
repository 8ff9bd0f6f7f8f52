/** Reader for iputils `ping` summaries. */

export interface PingResult {
  transmitted: number;
  received: number;
  minMs: number;
  avgMs: number;
  maxMs: number;
}

/** Parses the summary lines of `ping -q`/`ping`; `null` when no reply came back. */
export function parsePing(stdout: string): PingResult | null {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(stdout);
  const rtt = /(?:rtt|round-trip) min\/avg\/max\/(?:mdev|stddev) = ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(
    stdout,
  );
  if (counts === null || rtt === null) return null;
  const received = Number(counts[2]);
  if (received === 0) return null;
  return {
    transmitted: Number(counts[1]),
    received,
    minMs: Number(rtt[1]),
    avgMs: Number(rtt[2]),
    maxMs: Number(rtt[3]),
  };
}
