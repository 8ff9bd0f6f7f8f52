import assert from "node:assert/strict";
import {
  findCycles,
  isProductModule,
  localEdges,
  type ModuleGraph,
  testSupportImports,
} from "./import_cycles.ts";

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

Deno.test("testSupportImports() names each product module that imports src/testing/, and nothing else", () => {
  const root = "file:///repo/";
  const edges = new Map<string, string[]>([
    [`${root}main.ts`, [`${root}src/testing/wait.ts`]],
    [`${root}src/server/server.ts`, [`${root}src/testing/datapath/fake_network.ts`, `${root}src/log/log.ts`]],
    [`${root}ffi/udp.ts`, [`${root}src/testing/bytes.ts`]],
    [`${root}src/server/server_test.ts`, [`${root}src/testing/server/lab.ts`]],
    [`${root}src/testing/server/lab.ts`, [
      `${root}src/testing/datapath/rig.ts`,
      `${root}src/server/server.ts`,
    ]],
    [`${root}src/pki/testdata/make_fuzz_chain.ts`, [`${root}src/testing/pki/certs.ts`]],
    [`${root}tests/e2e/support/lab.ts`, [`${root}src/testing/wait.ts`]],
    [`${root}bench/aead_bench.ts`, [`${root}src/testing/data/hex.ts`]],
    [`${root}src/log/log.ts`, []],
  ]);
  assert.deepEqual(testSupportImports(edges, root), [
    ["ffi/udp.ts", "src/testing/bytes.ts"],
    ["main.ts", "src/testing/wait.ts"],
    ["src/server/server.ts", "src/testing/datapath/fake_network.ts"],
  ]);
});

Deno.test("isProductModule() counts src/, ffi/ and main.ts, minus tests, test support and testdata", () => {
  for (const path of ["main.ts", "src/server/server.ts", "ffi/tun.ts", "src/testingx.ts"]) {
    assert.equal(isProductModule(path), true, path);
  }
  const notProduct = [
    "src/testing/wait.ts",
    "src/server/server_test.ts",
    "src/pki/testdata/make_fuzz_chain.ts",
    "tests/harness/netns.ts",
    "bench/aead_bench.ts",
  ];
  for (const path of notProduct) assert.equal(isProductModule(path), false, path);
});
