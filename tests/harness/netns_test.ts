import assert from "node:assert/strict";
import { NetnsLab, parseLastJson, requireRoot } from "./netns.ts";
import { until } from "../../src/testing/wait.ts";

const { ignore } = requireRoot();

async function namespaceExists(name: string): Promise<boolean> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").some((l) => l.split(" ")[0] === name);
}

Deno.test("requireRoot() says whether to ignore and why", () => {
  const r = requireRoot();
  assert.equal(typeof r.ignore, "boolean");
  assert.equal(r.ignore, r.reason !== "");
});

Deno.test("parseLastJson() reads the final line and explains a missing one", () => {
  assert.deepEqual(parseLastJson('log line\n{"ok":true}\n'), { ok: true });
  assert.throws(() => parseLastJson("no json here"), /does not end with a JSON line/);
});

Deno.test({
  name: "NetnsLab.veth() joins two namespaces that can ping each other, and close() deletes them",
  ignore,
  async fn() {
    const lab = new NetnsLab();
    let names: string[] = [];
    try {
      const a = await lab.addNamespace("a");
      const b = await lab.addNamespace("b");
      names = [a, b];
      assert.match(a, /^tsv-[0-9a-f]{6}-a$/);
      await lab.veth({ ns: a, name: "veth-a", address: "10.99.0.1/24" }, {
        ns: b,
        name: "veth-b",
        address: "10.99.0.2/24",
        mtu: 1400,
      });
      const ping = await lab.exec(a, ["ping", "-c", "1", "-W", "2", "10.99.0.2"]);
      assert.match(ping.stdout, /1 received/);
      const link = JSON.parse((await lab.exec(b, ["ip", "-j", "link", "show", "veth-b"])).stdout);
      assert.equal(link[0].mtu, 1400);
      const lo = JSON.parse((await lab.exec(b, ["ip", "-j", "link", "show", "lo"])).stdout);
      assert.ok(lo[0].flags.includes("UP"));
    } finally {
      await lab.close();
    }
    for (const n of names) assert.equal(await namespaceExists(n), false);
  },
});

Deno.test({
  name: "NetnsLab.close() stops spawned processes and removes namespaces after a failing body",
  ignore,
  async fn() {
    let ns = "";
    let pid = 0;
    await assert.rejects(async () => {
      await using lab = new NetnsLab();
      ns = await lab.addNamespace("fail");
      const sleeper = lab.spawn(ns, ["sleep", "30"]);
      pid = sleeper.pid;
      assert.equal(sleeper.running, true);
      throw new Error("test body failed");
    }, /test body failed/);
    assert.equal(await namespaceExists(ns), false);
    assert.throws(() => Deno.kill(pid, "SIGCONT"));
  },
});

Deno.test({
  name: "LabProcess.stop() escalates to SIGKILL when a process ignores SIGTERM for the grace period",
  ignore,
  async fn() {
    await using lab = new NetnsLab();
    const ns = await lab.addNamespace("stubborn");
    const ready = await Deno.makeTempFile();
    await Deno.remove(ready);
    try {
      const p = lab.spawn(ns, ["sh", "-c", `trap "" TERM; touch '${ready}'; exec sleep 30`]);
      const exists = () => Deno.stat(ready).then(() => true, () => false);
      await until(exists, { what: "the shell ignoring SIGTERM" });
      const started = performance.now();
      await p.stop(300);
      assert.equal((await p.status).signal, "SIGKILL");
      assert.ok(performance.now() - started < 10_000, "not left to run out its 30 s");
    } finally {
      await Deno.remove(ready).catch(() => {});
    }
  },
});

Deno.test({
  name: "NetnsLab.exec() reports a failing command and runDeno() runs a script inside the namespace",
  ignore,
  async fn() {
    await using lab = new NetnsLab();
    const ns = await lab.addNamespace("deno");
    await assert.rejects(lab.exec(ns, ["ip", "link", "show", "nope0"]), /Command failed \(exit 1\)/);
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(
        script,
        `const out = await new Deno.Command("ip", { args: ["-j", "link"], stdout: "piped" }).output();
         const links = JSON.parse(new TextDecoder().decode(out.stdout));
         console.log(JSON.stringify({ links: links.map((l) => l.ifname), args: Deno.args }));`,
      );
      const out = await lab.runDeno(ns, script, ["x", "y"]);
      assert.deepEqual(parseLastJson(out.stdout), { links: ["lo"], args: ["x", "y"] });
    } finally {
      await Deno.remove(script);
    }
  },
});
