import assert from "node:assert/strict";
import { PACE_REJECTS_PER_S, PACE_WINDOW_MS, SocketPacer } from "./poll_pacing.ts";

/** Rejects that arrive at `perSecond` over one window. */
const windowOf = (perSecond: number) => Math.ceil(perSecond * PACE_WINDOW_MS / 1000);

Deno.test("SocketPacer paces from the window in which rejects reached PACE_REJECTS_PER_S until one in which they fell below", () => {
  const p = new SocketPacer();
  let t = 1000;
  let rejected = 0;
  assert.equal(p.update(t, rejected), false, "the first look only starts a window");
  rejected += windowOf(PACE_REJECTS_PER_S / 2);
  t += PACE_WINDOW_MS;
  assert.equal(p.update(t, rejected), false, "half the rate");
  rejected += windowOf(PACE_REJECTS_PER_S);
  t += PACE_WINDOW_MS;
  assert.equal(p.update(t, rejected), true, "the rate");
  rejected += 5;
  assert.equal(p.update(t + PACE_WINDOW_MS / 2, rejected), true, "decided once per window");
  t += PACE_WINDOW_MS;
  assert.equal(p.update(t, rejected), false, "a quiet window ends it");
  assert.equal(p.pacedWindows, 1);
});
