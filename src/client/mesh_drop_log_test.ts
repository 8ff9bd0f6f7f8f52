import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { MESH_DROP_BAD_TAG, MESH_DROP_COUNT, MESH_DROP_NOT_INTRODUCED } from "../mesh/wire.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { DROP_LOG_INTERVAL_MS, MeshDropLog } from "./mesh_drop_log.ts";

function setUp() {
  const clock = new ManualClock();
  const lines: string[] = [];
  const drops = new Float64Array(MESH_DROP_COUNT);
  const log = new MeshDropLog(drops, new Logger({ level: "debug", sink: (l) => lines.push(l) }), clock);
  return { clock, lines, drops, log };
}

Deno.test("MeshDropLog logs the drop totals once a second, only when they moved", async () => {
  const { clock, lines, drops, log } = setUp();
  log.start();
  await clock.advance(DROP_LOG_INTERVAL_MS * 3);
  assert.equal(lines.length, 0, "nothing dropped, nothing logged");
  drops[MESH_DROP_NOT_INTRODUCED] += 3;
  drops[MESH_DROP_BAD_TAG] += 1;
  await clock.advance(DROP_LOG_INTERVAL_MS);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /mesh: dropped on the mesh port/);
  assert.match(lines[0], /not_introduced.*3/);
  assert.match(lines[0], /bad_tag.*1/);
  await clock.advance(DROP_LOG_INTERVAL_MS * 3);
  assert.equal(lines.length, 1, "unchanged totals are not logged again");
  drops[MESH_DROP_BAD_TAG] += 1000;
  await clock.advance(DROP_LOG_INTERVAL_MS);
  assert.equal(lines.length, 2, "a burst is one line");
  assert.deepEqual(log.totals(), { not_introduced: 3, bad_tag: 1001 });
  log.stop();
  assert.equal(clock.pending, 0, "stop() leaves no timer");
});
