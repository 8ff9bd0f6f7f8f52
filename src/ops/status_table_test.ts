import assert from "node:assert/strict";
import { formatStatusTime } from "./status_format.ts";
import { formatBytes, formatColumns, formatDuration, formatStatusTable } from "./status_table.ts";
import { SAMPLE_TIME, sampleSnapshot } from "../testing/ops/control.ts";

Deno.test("formatStatusTable() shows clients, routes and the drop reasons that happened in aligned columns", () => {
  const lines = formatStatusTable(sampleSnapshot());
  const since = formatStatusTime(SAMPLE_TIME - 3600);
  assert.deepEqual(lines, [
    "tsvpn 0.1.0 server: tun mode, topology subnet, device tsvpn0, listening on udp 0.0.0.0:1194",
    `Time: ${formatStatusTime(SAMPLE_TIME)}`,
    "",
    "Clients (2):",
    "NAME   REAL ADDRESS         VIRTUAL ADDRESS        CONNECTED SINCE      BYTES IN  BYTES OUT  LAST ACTIVITY",
    `alice  198.51.100.7:51514   10.8.0.2               ${since}  47 KiB    89 KiB     5s ago`,
    `bob    [2001:db8::5]:40000  10.8.0.3 fd00:8::1001  ${
      formatStatusTime(SAMPLE_TIME - 60)
    }  100 B     200 B      1s ago`,
    "",
    "Routing table (3):",
    "VIRTUAL ADDRESS  NAME   REAL ADDRESS         LAST REF",
    "10.8.0.2         alice  198.51.100.7:51514   5s ago",
    "10.8.0.3         bob    [2001:db8::5]:40000  1s ago",
    "192.168.10.0/24  bob    [2001:db8::5]:40000  30s ago",
    "",
    "Drops (4 total):",
    "REASON   PACKETS",
    "bad_tag  1",
    "spoofed  3",
  ]);
});

Deno.test("formatStatusTable() shows the MAC table in tap mode and says none when empty", () => {
  const lines = formatStatusTable(sampleSnapshot({
    mode: "tap",
    clients: [],
    routes: [],
    macs: [{ mac: "02:00:00:00:00:01", port: "alice", ageSeconds: 75 }, {
      mac: "02:00:00:00:00:02",
      port: "tap",
      ageSeconds: 3,
    }],
    drops: {},
  }));
  assert.ok(lines.includes("Clients: none"));
  assert.ok(lines.includes("Routing table: empty"));
  const at = lines.indexOf("MAC table (2):");
  assert.ok(at > 0);
  assert.deepEqual(lines.slice(at + 1, at + 4), [
    "MAC                PORT   AGE",
    "02:00:00:00:00:01  alice  1m15s",
    "02:00:00:00:00:02  tap    3s",
  ]);
  assert.equal(lines.at(-1), "Drops: none");
  assert.equal(formatStatusTable(sampleSnapshot({ drops: { replay: 0 } })).at(-1), "Drops: none");
  assert.ok(!formatStatusTable(sampleSnapshot()).some((l) => l.startsWith("MAC table")));
});

Deno.test("formatBytes() and formatDuration() pick readable units", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(5 * 1024 ** 3), "5.0 GiB");
  assert.equal(formatBytes(300 * 1024 ** 2), "300 MiB");
  assert.equal(formatDuration(-3), "0s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(7620), "2h07m");
  assert.equal(formatDuration(273600), "3d04h");
});

Deno.test("formatColumns() pads every column but the last", () => {
  assert.deepEqual(formatColumns([["a", "bb", "c"], ["ccc", "d", "eeee"]]), ["a    bb  c", "ccc  d   eeee"]);
});
