import assert from "node:assert/strict";
import { History, HOLD_NOTIFICATION, ManagementEvents } from "./management_events.ts";

Deno.test("History keeps the newest lines up to its size, oldest first", () => {
  const h = new History(3);
  for (const l of ["a", "b", "c", "d"]) h.push(l);
  assert.deepEqual(h.latest(), ["b", "c", "d"]);
  assert.deepEqual(h.latest(2), ["c", "d"]);
  assert.deepEqual(h.latest(10), ["b", "c", "d"]);
});

Deno.test("ManagementEvents: log and state lines are single lines in OpenVPN's fields, sent to subscribers", () => {
  const seen: string[] = [];
  const e = new ManagementEvents({ now: () => 1_700_000_000_999, logCache: 2 });
  const off = e.subscribe((_kind, line) => seen.push(line));
  e.recordLog("warn", "two\r\nlines\0");
  e.recordState("ASSIGN_IP", "", "10.8.0.1");
  e.recordState("EXITING", "a,b\nc");
  off();
  e.recordLog("info", "unseen");
  assert.deepEqual(seen, [
    ">LOG:1700000000,W,two  lines ",
    ">STATE:1700000000,ASSIGN_IP,,10.8.0.1,,,,",
    ">STATE:1700000000,EXITING,a b c,,,,,",
  ]);
  assert.deepEqual(e.log.latest(), ["1700000000,W,two  lines ", "1700000000,I,unseen"]);
});

Deno.test("ManagementEvents hold: waits for release and tells subscribers; a release before the hold lets it pass", async () => {
  const e = new ManagementEvents({ hold: true });
  const seen: string[] = [];
  e.subscribe((_k, l) => seen.push(l));
  let released = false;
  const waiting = e.waitForRelease().then(() => released = true);
  assert.equal(e.holding, true);
  assert.deepEqual(seen, [HOLD_NOTIFICATION]);
  await Promise.resolve();
  assert.equal(released, false);
  e.release();
  await waiting;
  assert.equal(e.holding, false);
  e.release();
  await e.waitForRelease();
  assert.equal(seen.length, 1, "the early release let the second hold pass without a notification");
  const off = new ManagementEvents({ hold: false });
  await off.waitForRelease();
  assert.equal(off.holding, false);
});
