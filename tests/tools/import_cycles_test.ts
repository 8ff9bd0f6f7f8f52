import assert from "node:assert/strict";
import { findCycles, localEdges, type ModuleGraph } from "./import_cycles.ts";

function graph(edges: Record<string, string[]>): ModuleGraph {
  return {
    modules: Object.entries(edges).map(([from, to]) => ({
      specifier: `file:///${from}`,
      dependencies: to.map((t) => ({ code: { specifier: `file:///${t}` } })),
    })),
  };
}

Deno.test("findCycles() finds each strongly connected group of local modules, type imports included", () => {
  const g = graph({ a: ["b"], b: ["c"], c: ["a"], d: ["a"], e: ["e"], f: [] });
  g.modules.push({ specifier: "file:///x", dependencies: [{ type: { specifier: "file:///y" } }] });
  g.modules.push({ specifier: "file:///y", dependencies: [{ code: { specifier: "file:///x" } }] });
  const cycles = findCycles(localEdges(g)).map((c) => c.join(" "));
  assert.deepEqual(cycles.sort(), ["file:///a file:///b file:///c", "file:///e", "file:///x file:///y"]);
});

Deno.test("findCycles() reports nothing for a layered graph and ignores npm modules", () => {
  const g = graph({ top: ["mid", "low"], mid: ["low"], low: [] });
  g.modules.push({ specifier: "npm:yaml@2", dependencies: [{ code: { specifier: "file:///top" } }] });
  assert.deepEqual(findCycles(localEdges(g)), []);
});

Deno.test("findCycles() walks a 20,000-module chain without overflowing the stack", () => {
  const edges = new Map<string, string[]>();
  for (let i = 0; i < 20_000; i++) edges.set(`m${i}`, [`m${i + 1}`]);
  edges.set("m20000", ["m0"]);
  const cycles = findCycles(edges);
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0].length, 20_001);
});
