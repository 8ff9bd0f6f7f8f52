/**
 * Pure parts of the tunnel benchmark (bench/tunnel/): statistics, iperf3 and
 * ping parsing, /proc parsing, summaries, the table, options, package lists
 * and the configs the contenders write. The benchmark itself needs root and
 * minutes; it is run by hand (`deno task bench:tunnel`), never by CI.
 */

import assert from "node:assert/strict";
import { mean2, median, ratio } from "../bench/tunnel/stats.ts";
import { parseIperfTcp, parseIperfUdp } from "../bench/tunnel/iperf_json.ts";
import { parsePing } from "../bench/tunnel/ping_parse.ts";
import { idleFraction, parseProcStatCpu, parseStatTicks, parseVmHwmKib } from "../bench/tunnel/proc_stats.ts";
import { failedSample, parseLinkBytes, type Sample } from "../bench/tunnel/measure.ts";
import { type ContenderResult, summarize } from "../bench/tunnel/summary.ts";
import { COLUMNS, fixed, formatPipeTable, formatResults, times } from "../bench/tunnel/table.ts";
import {
  DEFAULT_DURATION,
  DEFAULT_ROUNDS,
  DEFAULT_SETTLE,
  parseBenchArgs,
  UsageError,
} from "../bench/tunnel/options.ts";
import { missingPackages } from "../bench/tunnel/packages.ts";
import { CONTENDER_NAMES, CONTENDERS } from "../bench/tunnel/contenders/registry.ts";
import { tsvpnClientYaml, tsvpnServerYaml } from "../bench/tunnel/contenders/tsvpn.ts";
import {
  negotiatedCipher,
  openvpnClientArgs,
  openvpnServerArgs,
} from "../bench/tunnel/contenders/openvpn.ts";
import { wgInterfaceNames } from "../bench/tunnel/contenders/wireguard_go.ts";
import type { BenchPki } from "../bench/tunnel/pki.ts";
import { parseConfig } from "../src/config/load.ts";

Deno.test("median() takes the middle value, averages the middle pair and skips missing samples", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([5, null, 1, undefined, NaN, 3]), 3);
  assert.equal(median([]), null);
  assert.equal(median([null, null]), null);
});

Deno.test("ratio() divides, and is null for a missing or non-positive divisor", () => {
  assert.equal(ratio(300, 600), 0.5);
  assert.equal(ratio(null, 600), null);
  assert.equal(ratio(300, null), null);
  assert.equal(ratio(300, 0), null);
  assert.equal(mean2(100, 300), 200);
  assert.equal(mean2(null, 300), 300);
  assert.equal(mean2(null, null), null);
});

const TCP_JSON = JSON.stringify({
  start: {},
  intervals: [],
  end: {
    streams: [],
    sum_sent: { start: 0, end: 10, seconds: 10, bytes: 780_000_000, bits_per_second: 624e6, retransmits: 12 },
    sum_received: { start: 0, end: 10.0004, seconds: 10.0004, bytes: 776_250_000, bits_per_second: 621e6 },
  },
});

Deno.test("parseIperfTcp() reports the receiver's bits per second and the sender's retransmits", () => {
  const r = parseIperfTcp(TCP_JSON);
  assert.equal(r.bitsPerSecond, 621e6);
  assert.equal(r.bytes, 776_250_000);
  assert.equal(r.seconds, 10.0004);
  assert.equal(r.retransmits, 12);
});

Deno.test("parseIperfTcp() throws iperf3's own error and names a missing section", () => {
  assert.throws(
    () =>
      parseIperfTcp(
        JSON.stringify({ start: {}, end: {}, error: "unable to connect to server: Connection refused" }),
      ),
    /iperf3: unable to connect to server: Connection refused/,
  );
  assert.throws(() => parseIperfTcp(JSON.stringify({ end: { sum_sent: {} } })), /end\.sum_received/);
  assert.throws(() => parseIperfTcp("iperf3: error - boom"), /not JSON/);
});

Deno.test("parseIperfUdp() counts datagrams the receiver got (packets minus lost) per second", () => {
  // Shape of iperf3 3.12 `-u -l 64 -b 0 -J` output.
  const text = JSON.stringify({
    end: {
      sum: { seconds: 2.006085, packets: 210880, lost_packets: 96809, lost_percent: 45.9 },
      sum_sent: { seconds: 2.005983, bytes: 13496320, packets: 210880, lost_packets: 0 },
      sum_received: { seconds: 2.006085, bytes: 7300544, packets: 210880, lost_packets: 96809 },
    },
  });
  const r = parseIperfUdp(text);
  assert.equal(r.sent, 210880);
  assert.equal(r.received, 114071);
  assert.ok(Math.abs(r.packetsPerSecond - 114071 / 2.006085) < 1e-6);
  assert.ok(Math.abs(r.lostPercent - 45.907) < 0.01);
});

Deno.test("parseIperfUdp() falls back to end.sum when sum_received is absent (older iperf3)", () => {
  const text = JSON.stringify({ end: { sum: { seconds: 4, packets: 1000, lost_packets: 200 } } });
  const r = parseIperfUdp(text);
  assert.equal(r.received, 800);
  assert.equal(r.packetsPerSecond, 200);
  assert.equal(r.sent, 1000);
});

Deno.test("parsePing() reads counts and the average RTT, and is null when nothing came back", () => {
  const ok = `PING 10.201.0.1 (10.201.0.1) 56(84) bytes of data.

--- 10.201.0.1 ping statistics ---
20 packets transmitted, 20 received, 0% packet loss, time 1120ms
rtt min/avg/max/mdev = 0.047/0.066/0.265/0.046 ms
`;
  assert.deepEqual(parsePing(ok), {
    transmitted: 20,
    received: 20,
    minMs: 0.047,
    avgMs: 0.066,
    maxMs: 0.265,
  });
  const none = `--- 10.204.0.1 ping statistics ---
20 packets transmitted, 0 received, +20 errors, 100% packet loss, time 1900ms
`;
  assert.equal(parsePing(none), null);
  assert.equal(parsePing(""), null);
});

Deno.test("parseStatTicks() sums utime and stime even when comm holds spaces and parentheses", () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // fields 3..52
  fields[0] = "S";
  fields[14 - 3] = "250"; // utime
  fields[15 - 3] = "70"; // stime
  assert.equal(parseStatTicks(`1234 (open vpn (x)) ${fields.join(" ")}\n`), 320);
  assert.throws(() => parseStatTicks("garbage"), /no '\)'/);
});

Deno.test("parseVmHwmKib() reads the peak resident set, null when the line is absent", () => {
  const status = "Name:\topenvpn\nVmPeak:\t   12000 kB\nVmHWM:\t    9604 kB\nVmRSS:\t    9500 kB\n";
  assert.equal(parseVmHwmKib(status), 9604);
  assert.equal(parseVmHwmKib("Name:\tkthreadd\n"), null);
});

Deno.test("parseProcStatCpu() and idleFraction() give the host's idle share between two readings", () => {
  const a = parseProcStatCpu("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n");
  assert.deepEqual(a, { idle: 850, total: 1000 });
  const b = parseProcStatCpu("cpu  250 0 100 1000 50 0 0 0 0 0\n");
  assert.equal(idleFraction(a, b), 200 / 400);
  assert.equal(idleFraction(a, a), 1);
  assert.throws(() => parseProcStatCpu("intr 1 2 3\n"), /no aggregate cpu line/);
});

Deno.test("parseLinkBytes() adds rx and tx bytes from `ip -j -s link show`, null on other input", () => {
  const json = JSON.stringify([{ ifname: "veth-c", stats64: { rx: { bytes: 1500 }, tx: { bytes: 250 } } }]);
  assert.equal(parseLinkBytes(json), 1750);
  assert.equal(parseLinkBytes("[]"), null);
  assert.equal(parseLinkBytes("Device does not exist"), null);
});

function sample(round: number, up: number | null, down: number | null, extra: Partial<Sample> = {}): Sample {
  return {
    ...failedSample(round, "x"),
    errors: [],
    tcpUpMbps: up,
    tcpDownMbps: down,
    tcpGigabytes: up !== null && down !== null ? ((up + down) * 10) / 8000 : null,
    cpuTcpSeconds: 10,
    udpKpps: 30,
    rttMs: 0.4,
    addedRttMs: 0.3,
    rssServerMib: 9,
    rssClientMib: 8,
    ...extra,
  };
}

function result(name: string, samples: Sample[], status: "ok" | "unavailable" = "ok"): ContenderResult {
  return {
    name,
    kind: name.startsWith("tsvpn") ? "tsvpn" : "openvpn",
    description: name,
    status,
    reason: status === "ok" ? null : "server exited with code 2: not available",
    notes: {},
    samples,
  };
}

Deno.test("summarize() takes medians over rounds and divides by the reference rows", () => {
  const s = summarize(
    [
      result("openvpn-aes256gcm", [sample(1, 600, 640), sample(2, 620, 600), sample(3, 700, 620)]),
      result("wireguard-go", [sample(1, 400, 420), sample(2, 430, 440), sample(3, 420, 400)]),
      result("tsvpn-udp-aes256gcm", [
        sample(1, 310, 300),
        sample(2, null, null, { udpKpps: null }),
        sample(3, 330, 340),
      ]),
      result("tsvpn-tcp", [], "unavailable"),
    ],
    "openvpn-aes256gcm",
    "wireguard-go",
  );
  const [ovpn, wg, ts, tcp] = s;
  assert.equal(ovpn.median.tcpUpMbps, 620);
  assert.equal(ovpn.median.tcpDownMbps, 620);
  assert.equal(ovpn.tcpMbps, 620);
  assert.equal(ovpn.vsOpenvpn?.tcp, 1);
  assert.equal(wg.tcpMbps, 420);
  assert.equal(ts.median.tcpUpMbps, 320);
  assert.equal(ts.rounds, 2);
  assert.equal(ts.vsOpenvpn?.tcp, 320 / 620);
  assert.ok(Math.abs((ts.vsWireguard?.tcp ?? 0) - 320 / 420) < 1e-12);
  assert.equal(tcp.status, "unavailable");
  assert.equal(tcp.vsOpenvpn, null);
});

Deno.test("summarize() leaves ratios null when the reference row is unavailable or absent", () => {
  const s = summarize(
    [result("openvpn-aes256gcm", [], "unavailable"), result("tsvpn-udp-aes256gcm", [sample(1, 300, 300)])],
    "openvpn-aes256gcm",
    "wireguard-go",
  );
  assert.equal(s[1].vsOpenvpn, null);
  assert.equal(s[1].vsWireguard, null);
});

Deno.test("formatPipeTable() pads columns and right-aligns numbers in a Markdown table", () => {
  const t = formatPipeTable(["name", "Mbit/s"], [["veth", "13700"], ["openvpn", "621"]], [false, true]);
  assert.equal(
    t,
    [
      "| name    | Mbit/s |",
      "| ------- | -----: |",
      "| veth    |  13700 |",
      "| openvpn |    621 |",
    ].join("\n"),
  );
  assert.equal(fixed(null, 1), "–");
  assert.equal(fixed(0.3456, 3), "0.346");
  assert.equal(times(0.5), "0.50x");
  assert.equal(times(null), "–");
});

Deno.test("formatResults() prints one row per contender and says why a row is unavailable", () => {
  const s = summarize(
    [result("openvpn-aes256gcm", [sample(1, 621, 600)]), result("tsvpn-tcp", [], "unavailable")],
    "openvpn-aes256gcm",
    "wireguard-go",
  );
  const text = formatResults(s);
  const lines = text.split("\n");
  assert.equal(lines[0].split("|").length - 2, COLUMNS.length);
  assert.match(lines[2], /^\| openvpn-aes256gcm +\| +621 \| +600 \| +30\.0 \|/);
  assert.match(lines[2], /9\.0\/8\.0/);
  assert.match(lines[2], /1\.00x \| +– \|$/);
  assert.match(lines[3], /^\| tsvpn-tcp +\| +unavailable \|/);
  assert.match(text, /tsvpn-tcp unavailable: server exited with code 2: not available/);
});

Deno.test("parseBenchArgs() applies defaults, --quick, and explicit values over --quick", () => {
  const names = ["veth", "openvpn-aes256gcm", "wireguard-go"];
  const d = parseBenchArgs([], names);
  assert.deepEqual(d, {
    only: names,
    rounds: DEFAULT_ROUNDS,
    duration: DEFAULT_DURATION,
    settle: DEFAULT_SETTLE,
    out: null,
    install: true,
    help: false,
  });
  const q = parseBenchArgs(["--quick"], names);
  assert.equal(q.rounds, 1);
  assert.equal(q.duration, 3);
  const qr = parseBenchArgs(
    ["--quick", "--rounds", "5", "--only", "wireguard-go,veth", "--no-install"],
    names,
  );
  assert.equal(qr.rounds, 5);
  assert.equal(qr.duration, 3);
  assert.deepEqual(qr.only, ["wireguard-go", "veth"]);
  assert.equal(qr.install, false);
  assert.equal(parseBenchArgs(["--settle", "0"], names).settle, 0);
  assert.equal(parseBenchArgs(["--settle", "5"], names).settle, 5);
});

Deno.test("parseBenchArgs() rejects unknown contenders, bad numbers and unknown flags with one line", () => {
  const names = ["veth"];
  assert.throws(() => parseBenchArgs(["--only", "vet"], names), (e) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, 'Unknown contender "vet"; known: veth');
    return true;
  });
  assert.throws(() => parseBenchArgs(["--rounds", "0"], names), /--rounds must be between 1 and 100/);
  assert.throws(() => parseBenchArgs(["--duration", "2.5"], names), /--duration expects a whole number/);
  assert.throws(() => parseBenchArgs(["--fast"], names), UsageError);
  assert.throws(() => parseBenchArgs(["extra"], names), UsageError);
});

Deno.test("missingPackages() maps missing programs to their Debian packages once each", () => {
  const have = new Set(["ip", "ping"]);
  assert.deepEqual(
    missingPackages(["ip", "ping", "iperf3", "wireguard-go", "wg", "openvpn", "openvpn"], (p) => have.has(p)),
    ["iperf3", "openvpn", "wireguard-go", "wireguard-tools"],
  );
  assert.deepEqual(missingPackages(["ip"], () => true), []);
  assert.throws(
    () => missingPackages(["nosuch"], () => false),
    /No Debian package known for program "nosuch"/,
  );
});

Deno.test("CONTENDERS names every contender the issue asks for, once, each needing known programs", () => {
  assert.deepEqual([...CONTENDER_NAMES], [
    "veth",
    "openvpn-aes256gcm",
    "openvpn-chacha",
    "wireguard-go",
    "tsvpn-udp-aes256gcm",
    "tsvpn-udp-aes128gcm",
    "tsvpn-udp-chacha",
    "tsvpn-tcp",
    "tsvpn-server+openvpn-client",
  ]);
  for (const c of CONTENDERS) assert.doesNotThrow(() => missingPackages(c.programs, () => false), c.name);
});

const PKI: BenchPki = {
  dir: "/tmp/pki",
  ca: "/tmp/pki/ca.crt",
  serverCert: "/tmp/pki/bench-server.crt",
  serverKey: "/tmp/pki/bench-server.key",
  clientCert: "/tmp/pki/bench-client.crt",
  clientKey: "/tmp/pki/bench-client.key",
};

Deno.test("tsvpnServerYaml() and tsvpnClientYaml() write configs tsvpn's own loader accepts", () => {
  for (const proto of ["udp", "tcp"] as const) {
    const server = parseConfig(tsvpnServerYaml(PKI, { proto, cipher: "AES-256-GCM" }), "/tmp/server.yaml");
    assert.equal(server.mode, "server");
    const client = parseConfig(
      tsvpnClientYaml(PKI, { proto, cipher: "CHACHA20-POLY1305" }),
      "/tmp/client.yaml",
    );
    assert.equal(client.mode, "client");
    assert.match(JSON.stringify(server), new RegExp(`"${proto}"`));
    assert.match(JSON.stringify(client), /CHACHA20-POLY1305/);
    assert.match(JSON.stringify(client), /10\.201\.0\.1/);
  }
});

Deno.test("openvpnServerArgs() and openvpnClientArgs() pin the cipher and keep the data channel in userspace", () => {
  const s = openvpnServerArgs(PKI, "CHACHA20-POLY1305", "/tmp/s.log");
  const c = openvpnClientArgs(PKI, {
    remote: "10.201.0.1",
    port: 1194,
    proto: "tcp",
    cipher: "CHACHA20-POLY1305",
    logPath: "/tmp/c.log",
  });
  for (const argv of [s, c]) {
    assert.equal(argv[0], "openvpn");
    assert.equal(argv[argv.indexOf("--data-ciphers") + 1], "CHACHA20-POLY1305");
    assert.ok(argv.includes("--disable-dco"));
  }
  assert.equal(c[c.indexOf("--proto") + 1], "tcp-client");
  assert.equal(c[c.indexOf("--cert") + 1], PKI.clientCert);
  assert.equal(s[s.indexOf("--cert") + 1], PKI.serverCert);
});

Deno.test("negotiatedCipher() reads the data-channel cipher from an openvpn 2.6 log", () => {
  const log =
    "2025-11-22 02:30:01 Outgoing Data Channel: Cipher 'AES-256-GCM' initialized with 256 bit key\n";
  assert.equal(negotiatedCipher(log), "AES-256-GCM");
  assert.equal(negotiatedCipher("nothing"), null);
});

Deno.test("wgInterfaceNames() fits Linux's 15-character limit and differs per lab", () => {
  const a = wgInterfaceNames("1a2b3c");
  const b = wgInterfaceNames("4d5e6f");
  assert.ok(a.server.length <= 15 && a.client.length <= 15);
  assert.notEqual(a.server, a.client);
  assert.notEqual(a.server, b.server);
});
