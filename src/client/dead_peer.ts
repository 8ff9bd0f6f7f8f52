/**
 * Dead-peer detection beyond OpenVPN's ping-restart, after WireGuard's rule:
 * a client that has sent something and has received nothing authenticated
 * for `dead_peer_timeout` seconds (15 by default: WireGuard's keepalive 10 +
 * rekey 5) stops waiting for ping-restart (60 s) and re-dials at once.
 *
 * WireGuard can rely on the peer answering data with a keepalive; an OpenVPN
 * server only pings on its own schedule (`ping N`: a packet at least every N
 * seconds while it lives). So the rule is sound only while the server pings:
 * the watch is off when no ping interval is known (a stock server without
 * keepalive stays unaffected), and never fires before the server's interval
 * plus PING_SLACK_SECONDS, so a server pushing `ping 20` is not taken for dead
 * between two of its pings. The server's interval is the one it pushes
 * (OpenVPN's `keepalive` pushes the same `ping` it uses itself), or the
 * client's own keepalive when the push has none.
 *
 * Pure: the caller reads the datapath's lastRx/lastTx cells and its clock.
 */

/** What a live server may add to its ping interval: its 1 s timer, the path, a busy host. */
export const PING_SLACK_SECONDS = 5;

/**
 * The silence (ms) after which the server counts as dead; 0 = the watch is
 * off (configured 0, or the server is not known to ping).
 */
export function deadPeerTimeoutMs(configuredSeconds: number, serverPingSeconds: number): number {
  if (configuredSeconds <= 0 || serverPingSeconds <= 0) return 0;
  return Math.max(configuredSeconds, serverPingSeconds + PING_SLACK_SECONDS) * 1000;
}

/**
 * True when something was sent after the last authenticated packet from the
 * server and that packet is at least `timeoutMs` old.
 */
export function isPeerDead(now: number, lastRx: number, lastTx: number, timeoutMs: number): boolean {
  return timeoutMs > 0 && lastTx > lastRx && now - lastRx >= timeoutMs;
}
