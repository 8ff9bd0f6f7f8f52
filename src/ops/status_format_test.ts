import assert from "node:assert/strict";
import { formatStatus, formatStatusTime } from "./status_format.ts";
import { SAMPLE_TIME, sampleClient, sampleSnapshot } from "../testing/ops/control.ts";

const T = (s: number) => formatStatusTime(s);

Deno.test("formatStatusTime() prints local time as YYYY-MM-DD HH:MM:SS", () => {
  const d = new Date(SAMPLE_TIME * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  const expected = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  assert.equal(formatStatusTime(SAMPLE_TIME), expected);
  assert.match(formatStatusTime(0), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});

Deno.test("formatStatus() version 2 has OpenVPN 2.6's exact rows and column headers", () => {
  const lines = formatStatus(sampleSnapshot(), 2);
  assert.deepEqual(lines, [
    "TITLE,tsvpn 0.1.0 [OpenVPN 2.6 compatible]",
    `TIME,${T(SAMPLE_TIME)},${SAMPLE_TIME}`,
    "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received,Bytes Sent," +
    "Connected Since,Connected Since (time_t),Username,Client ID,Peer ID,Data Channel Cipher",
    `CLIENT_LIST,alice,198.51.100.7:51514,10.8.0.2,,48213,91022,${T(SAMPLE_TIME - 3600)},${
      SAMPLE_TIME - 3600
    },UNDEF,0,0,AES-256-GCM`,
    `CLIENT_LIST,bob,[2001:db8::5]:40000,10.8.0.3,fd00:8::1001,100,200,${T(SAMPLE_TIME - 60)},${
      SAMPLE_TIME - 60
    },UNDEF,1,1,CHACHA20-POLY1305`,
    "HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)",
    `ROUTING_TABLE,10.8.0.2,alice,198.51.100.7:51514,${T(SAMPLE_TIME - 5)},${SAMPLE_TIME - 5}`,
    `ROUTING_TABLE,10.8.0.3,bob,[2001:db8::5]:40000,${T(SAMPLE_TIME - 1)},${SAMPLE_TIME - 1}`,
    `ROUTING_TABLE,192.168.10.0/24,bob,[2001:db8::5]:40000,${T(SAMPLE_TIME - 30)},${SAMPLE_TIME - 30}`,
    "GLOBAL_STATS,Max bcast/mcast queue length,0",
    "GLOBAL_STATS,dco_enabled,0",
    "END",
  ]);
});

Deno.test("formatStatus() version 3 is version 2 with tabs", () => {
  const snap = sampleSnapshot();
  const v2 = formatStatus(snap, 2);
  const v3 = formatStatus(snap, 3);
  assert.equal(v3.length, v2.length);
  // No field of the sample contains a comma, so swapping separators maps one onto the other.
  assert.deepEqual(v3.map((l) => l.replaceAll("\t", ",")), v2);
  assert.equal(
    v3[2],
    "HEADER\tCLIENT_LIST\tCommon Name\tReal Address\tVirtual Address\tVirtual IPv6 Address\tBytes Received\t" +
      "Bytes Sent\tConnected Since\tConnected Since (time_t)\tUsername\tClient ID\tPeer ID\tData Channel Cipher",
  );
  assert.ok(!v3.some((l) => l.includes(",") && !l.startsWith("TITLE")));
});

Deno.test("formatStatus() version 1 has OpenVPN's section layout", () => {
  const lines = formatStatus(sampleSnapshot({ globalStats: { "Max bcast/mcast queue length": 4 } }), 1);
  assert.deepEqual(lines, [
    "OpenVPN CLIENT LIST",
    `Updated,${T(SAMPLE_TIME)}`,
    "Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since",
    `alice,198.51.100.7:51514,48213,91022,${T(SAMPLE_TIME - 3600)}`,
    `bob,[2001:db8::5]:40000,100,200,${T(SAMPLE_TIME - 60)}`,
    "ROUTING TABLE",
    "Virtual Address,Common Name,Real Address,Last Ref",
    `10.8.0.2,alice,198.51.100.7:51514,${T(SAMPLE_TIME - 5)}`,
    `10.8.0.3,bob,[2001:db8::5]:40000,${T(SAMPLE_TIME - 1)}`,
    `192.168.10.0/24,bob,[2001:db8::5]:40000,${T(SAMPLE_TIME - 30)}`,
    "GLOBAL STATS",
    "Max bcast/mcast queue length,4",
    "END",
  ]);
});

Deno.test("formatStatus() prints username, client id and extra global stats, and an empty server", () => {
  const snap = sampleSnapshot({
    clients: [sampleClient({ username: "carol", clientId: 17, peerId: 3 })],
    routes: [],
    globalStats: { "Max bcast/mcast queue length": 2, dco_enabled: 0, "tsvpn clients": 1 },
  });
  const v2 = formatStatus(snap, 2);
  assert.match(v2[3], /,carol,17,3,AES-256-GCM$/);
  assert.deepEqual(v2.slice(-4), [
    "GLOBAL_STATS,Max bcast/mcast queue length,2",
    "GLOBAL_STATS,dco_enabled,0",
    "GLOBAL_STATS,tsvpn clients,1",
    "END",
  ]);
  const empty = formatStatus(sampleSnapshot({ clients: [], routes: [], globalStats: {} }), 2);
  assert.deepEqual(empty.slice(2), [
    empty[2],
    "HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)",
    "GLOBAL_STATS,Max bcast/mcast queue length,0",
    "GLOBAL_STATS,dco_enabled,0",
    "END",
  ]);
});

Deno.test("formatStatus() never lets a field break a row or add a column", () => {
  const snap = sampleSnapshot({ clients: [sampleClient({ name: "x,y\nEND\tz" })], routes: [] });
  const v2 = formatStatus(snap, 2);
  assert.equal(v2[3].split(",").length, 13);
  assert.equal(v2.filter((l) => l === "END").length, 1);
  const v3 = formatStatus(snap, 3);
  assert.equal(v3[3].split("\t").length, 13);
  assert.throws(() => formatStatus(snap, 4 as 1), /Invalid status version 4/);
});
