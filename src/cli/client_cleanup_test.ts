import assert from "node:assert/strict";
import { currentNetnsInode, HostJournal, journalPath, processId } from "../client/host_journal.ts";
import type { PlanItem } from "../client/host_plan_types.ts";
import { FakeNetConfig } from "../testing/client/net_config.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { runClientAdmin } from "./client_admin.ts";

const aroundTunnel = {
  kind: "route",
  spec: { dst: "192.0.2.7/32", gateway: "192.168.1.1", dev: "eth0" },
  via: "outside",
} satisfies PlanItem;
const oldDefault = {
  kind: "suppress",
  spec: { dst: "0.0.0.0/0", gateway: "192.168.1.1", dev: "eth0" },
} satisfies PlanItem;

/** A host as a client killed with redirect-gateway (no def1) leaves it, and the journal it wrote. */
async function crashedClient(stateDir: string, dev: string, owner = { pid: 4_000_000, started: 1 }) {
  const net = new FakeNetConfig();
  net.addLink("eth0");
  net.seedAddress({ dev: "eth0", address: "192.168.1.10", prefixLen: 24 });
  net.seedRoute(oldDefault.spec);
  const before = net.snapshot();
  const path = journalPath(stateDir, dev, await currentNetnsInode());
  const journal = new HostJournal(path);
  await journal.start(owner);
  for (const item of [aroundTunnel, oldDefault]) await journal.record({ t: "do", item });
  await journal.close(false);
  await net.addRoute(aroundTunnel.spec);
  await net.delRoute(oldDefault.spec);
  return { net, before, path };
}

async function cleanup(args: string[], net: FakeNetConfig) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runClientAdmin(["cleanup", ...args], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    net,
  });
  return { code, out: out.join(""), err: err.join("") };
}

Deno.test("tsvpn client cleanup --state-dir restores the host from every journal of this namespace, then has nothing to do", async () => {
  await inTempDir(async (dir) => {
    const { net, before, path } = await crashedClient(dir, "tsvpn0");
    assert.notDeepEqual(net.snapshot(), before);
    const r = await cleanup(["--state-dir", dir], net);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `Restored 2 host change(s) a client left behind (${path})\n`);
    assert.deepEqual(net.snapshot(), before);
    const again = await cleanup(["--state-dir", dir], net);
    assert.equal(again.code, 0);
    assert.equal(again.out, `Nothing to clean up: no host journal for this network namespace in ${dir}\n`);
    assert.deepEqual(net.snapshot(), before);
  });
});

Deno.test("tsvpn client cleanup --config finds the journal of the config's state_dir and device", async () => {
  await inTempDir(async (dir) => {
    const { net, before } = await crashedClient(`${dir}/state`, "vpn7");
    const other = await crashedClient(`${dir}/state`, "vpn8");
    const config = `${dir}/c.yaml`;
    await Deno.writeTextFile(
      config,
      "mode: client\nremotes: [{ host: 192.0.2.7 }]\npki: { ca: a, cert: b, key: c }\n" +
        "dev: { name: vpn7 }\nstate_dir: state\n",
    );
    const r = await cleanup(["--config", config], net);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^Restored 2 host change\(s\) a client left behind \(.*\/host-vpn7-net\d+\.jsonl\)\n$/,
    );
    assert.deepEqual(net.snapshot(), before);
    assert.ok(await Deno.stat(other.path), "another device's journal is left alone");
  });
});

Deno.test("tsvpn client cleanup refuses a running client's journal with one line and exit 1, changing nothing", async () => {
  await inTempDir(async (dir) => {
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const owner = (await processId(sleeper.pid))!;
      const { net, path } = await crashedClient(dir, "tsvpn0", owner);
      const during = net.snapshot();
      const r = await cleanup(["--state-dir", dir], net);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        `tsvpn client: The host journal ${path} belongs to a running tsvpn client (pid ${sleeper.pid}); stop it first\n`,
      );
      assert.deepEqual(net.snapshot(), during);
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  });
});

Deno.test("tsvpn client cleanup: usage and config errors are one line with exit 2", async () => {
  await inTempDir(async (dir) => {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      bad,
      "mode: client\nremotes: [{ host: a.b }]\npki: { ca: a, cert: b, key: c }\nstate_dir: 5\n",
    );
    const cases: [string[], RegExp][] = [
      [["--config", bad, "--state-dir", dir], /--config and --state-dir cannot be combined/],
      [["extra"], /Unexpected argument "extra"/],
      [["--bogus"], /Unknown option '--bogus'/],
      [["--config", bad], /bad\.yaml:4: state_dir: expected a file path, got 5/],
    ];
    for (const [args, message] of cases) {
      const r = await cleanup(args, new FakeNetConfig());
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, message);
      assert.equal(r.err.trim().split("\n").length, 1, r.err);
    }
  });
});
