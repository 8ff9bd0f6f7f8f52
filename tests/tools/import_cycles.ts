/**
 * Import-cycle check for `deno task check`: reads the module graph that `deno info --json` reports
 * for the given entry points and fails when local modules import each other in a circle (type-only
 * imports included: a cycle of types still ties two folders together).
 *
 * It also fails when product code imports test support: every module under src/ or ffi/ (and main.ts)
 * is product code unless it lies under src/testing/, is a `_test.ts` or lies in a `testdata/` folder
 * (fixture generators), and product code must not import from src/testing/.
 *
 * Usage: deno run --allow-run --allow-read tests/tools/import_cycles.ts ENTRY...
 */

/** The part of `deno info --json` this check reads. */
export interface ModuleGraph {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

/** Local module → the local modules it imports (code or type). */
export function localEdges(graph: ModuleGraph): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const mod of graph.modules) {
    if (!mod.specifier.startsWith("file://")) continue;
    const targets = new Set<string>();
    for (const dep of mod.dependencies ?? []) {
      for (const target of [dep.code?.specifier, dep.type?.specifier]) {
        if (target?.startsWith("file://")) targets.add(target);
      }
    }
    edges.set(mod.specifier, [...targets]);
  }
  return edges;
}

/** Strongly connected components with more than one module (or a self-import), each sorted. */
export function findCycles(edges: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  for (const root of edges.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; child: number }[] = [{ node: root, child: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const children = edges.get(frame.node) ?? [];
      if (frame.child < children.length) {
        const child = children[frame.child++];
        if (!index.has(child)) {
          index.set(child, next);
          low.set(child, next++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, child: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      const selfImport = (edges.get(frame.node) ?? []).includes(frame.node);
      if (component.length > 1 || selfImport) cycles.push(component.sort());
    }
  }
  return cycles;
}

const TEST_SUPPORT = "src/testing/";

/** Whether a repository-relative path is product code (shipped), as opposed to tests and their support. */
export function isProductModule(path: string): boolean {
  const underProductRoot = path === "main.ts" || path.startsWith("src/") || path.startsWith("ffi/");
  return underProductRoot && !path.startsWith(TEST_SUPPORT) && !path.endsWith("_test.ts") &&
    !path.includes("/testdata/");
}

/** Product modules importing test support, as `[importer, imported]` repository-relative paths, sorted. */
export function testSupportImports(edges: Map<string, string[]>, root: string): [string, string][] {
  const found: [string, string][] = [];
  for (const [from, targets] of edges) {
    if (!from.startsWith(root) || !isProductModule(from.slice(root.length))) continue;
    for (const to of targets) {
      if (to.startsWith(root + TEST_SUPPORT)) found.push([from.slice(root.length), to.slice(root.length)]);
    }
  }
  return found.sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
}

async function moduleGraph(entries: string[]): Promise<ModuleGraph> {
  const graph: ModuleGraph = { modules: [] };
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", entry] }).output();
    if (!out.success) throw new Error(`deno info ${entry}: ${new TextDecoder().decode(out.stderr).trim()}`);
    graph.modules.push(...(JSON.parse(new TextDecoder().decode(out.stdout)) as ModuleGraph).modules);
  }
  return graph;
}

/** Every .ts file under the given folders (so test-only and bench modules are covered too). */
async function tsFiles(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    const info = await Deno.stat(path);
    if (info.isFile) {
      if (path.endsWith(".ts")) found.push(path);
      continue;
    }
    for await (const entry of Deno.readDir(path)) {
      found.push(...await tsFiles([`${path}/${entry.name}`]));
    }
  }
  return found;
}

if (import.meta.main) {
  const cwd = `file://${Deno.cwd()}/`;
  const entries = await tsFiles(Deno.args.length > 0 ? Deno.args : ["main.ts"]);
  // One deno info call over a generated root that imports every file keeps this fast.
  const root = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(root, entries.map((e) => `import "${cwd}${e}";`).join("\n"));
    const edges = localEdges(await moduleGraph([root]));
    edges.delete(`file://${root}`);
    const cycles = findCycles(edges);
    for (const cycle of cycles) {
      console.error(`import cycle: ${cycle.map((s) => s.replace(cwd, "")).join(" <-> ")}`);
    }
    const leaks = testSupportImports(edges, cwd);
    for (const [from, to] of leaks) console.error(`test support imported by product code: ${from} -> ${to}`);
    if (cycles.length > 0 || leaks.length > 0) Deno.exit(1);
    console.log(
      `import cycles: none among ${edges.size} local modules; no product module imports ${TEST_SUPPORT}`,
    );
  } finally {
    await Deno.remove(root);
  }
}
