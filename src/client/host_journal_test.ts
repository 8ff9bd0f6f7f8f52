import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { FakeNetConfig } from "../testing/client/net_config.ts";
import { config, FakeServer, push, start } from "../testing/client/fake_server.ts";
import { createTestPki } from "../testing/control/pki.ts";
import { FakeNetwork } from "../testing/datapath/fake_network.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { currentNetnsInode, HostJournal, journalPath, processId } from "./host_journal.ts";
import { itemKey } from "./host_plan.ts";
import type { PlanItem } from "./host_plan_types.ts";
import { parseJournal, restoreFromJournal } from "./journal_replay.ts";

const quiet = () => new Logger({ level: "error", sink: () => {} });
const serverRoute = {
  kind: "route",
  spec: { dst: "10.0.0.1/32", gateway: "192.168.1.1", dev: "eth0" },
  via: "outside",
} satisfies PlanItem;
const defaultRoute = {
  kind: "suppress",
  spec: { dst: "0.0.0.0/0", gateway: "192.168.1.1", dev: "eth0" },
} satisfies PlanItem;
const lines = (...entries: unknown[]) => entries.map((e) => JSON.stringify(e)).join("\n") + "\n";

Deno.test("parseJournal() keeps what was done and not undone, in order; skips, undos and a torn last line drop out", () => {
  const whole = lines(
    { t: "start", pid: 7, started: 99 },
    { t: "up", dev: "tun0" },
    { t: "do", item: serverRoute },
    { t: "do", item: defaultRoute },
    { t: "do", item: { kind: "route", spec: { dst: "10.9.0.0/16", dev: "eth0" }, via: "outside" } },
    { t: "skip", key: "r 10.9.0.0/16  eth0 " },
    { t: "dns", path: "/etc/resolv.conf" },
    { t: "undo-dns" },
  );
  const text = whole + '{"t":"do","item":{"kin';
  const j = parseJournal(text, "j.jsonl");
  assert.deepEqual(j.owner, { pid: 7, started: 99 });
  assert.deepEqual(j.pending.map((c) => c.kind === "item" ? c.key : c.kind), [
    "up",
    itemKey(serverRoute),
    itemKey(defaultRoute),
  ]);
  const undone = parseJournal(whole + lines({ t: "undo", key: itemKey(serverRoute) }), "j.jsonl");
  assert.deepEqual(undone.pending.map((c) => c.kind), ["up", "item"]);
});

Deno.test("parseJournal() names the file and line of a damaged line that is not the last", () => {
  assert.throws(
    () => parseJournal('{"t":"start","pid":1,"started":2}\nnot json\n{"t":"undo-up"}\n', "/s/j.jsonl"),
    /^Error: \/s\/j\.jsonl:2: not a tsvpn host journal line$/,
  );
  assert.throws(
    () => parseJournal('{"t":"rm -rf"}\n{"t":"undo-up"}\n', "j"),
    /j:1: not a tsvpn host journal line/,
  );
  assert.throws(
    () => parseJournal('{"t":"do","item":{"kind":"route"}}\n{"t":"undo-up"}\n', "j"),
    /j:1: not a tsvpn host journal line/,
  );
});

Deno.test("restoreFromJournal() undoes newest first, is idempotent, removes the journal, and refuses a live writer's", async () => {
  await inTempDir(async (dir) => {
    const net = new FakeNetConfig();
    net.addLink("eth0");
    net.seedAddress({ dev: "eth0", address: "192.168.1.10", prefixLen: 24 });
    net.seedRoute(defaultRoute.spec);
    const before = net.snapshot();
    const path = `${dir}/host-tun0-net1.jsonl`;
    const journal = new HostJournal(path);
    await journal.start({ pid: 4_000_000, started: 1 });
    for (const item of [serverRoute, defaultRoute]) await journal.record({ t: "do", item });
    await journal.close(false);
    await net.addRoute(serverRoute.spec);
    await net.delRoute(defaultRoute.spec);
    const crashed = await Deno.readTextFile(path);
    assert.notDeepEqual(net.snapshot(), before);

    await assert.rejects(
      () => restoreFromJournal(path, net, quiet(), () => Promise.resolve(true)),
      /belongs to a running tsvpn client \(pid 4000000\); stop it first/,
    );
    assert.equal(await Deno.readTextFile(path), crashed, "refused: the journal is kept");
    assert.deepEqual(await restoreFromJournal(path, net, quiet(), () => Promise.resolve(false)), {
      restored: 2,
    });
    assert.deepEqual(net.snapshot(), before);
    await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
    assert.equal(await restoreFromJournal(path, net, quiet()), null, "no journal: nothing to do");

    await Deno.writeTextFile(path, crashed);
    assert.deepEqual(await restoreFromJournal(path, net, quiet(), () => Promise.resolve(false)), {
      restored: 2,
    });
    assert.deepEqual(net.snapshot(), before, "replaying again changes nothing");
  });
});

Deno.test("HostJournal.start() never writes through a link planted at the journal's name", async () => {
  await inTempDir(async (dir) => {
    const victim = `${dir}/victim`;
    await Deno.writeTextFile(victim, "keep me\n");
    const path = `${dir}/state/host-tun0-net1.jsonl`;
    await Deno.mkdir(`${dir}/state`);
    await Deno.symlink(victim, path);
    const journal = new HostJournal(path);
    await journal.start({ pid: 1, started: 2 });
    await journal.close(false);
    assert.equal(await Deno.readTextFile(victim), "keep me\n");
    assert.equal((await Deno.lstat(path)).isFile, true);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/state`)).mode! & 0o777, 0o700);
  });
});

Deno.test("processId() knows this process; a dead pid is not running", async () => {
  const self = await processId();
  assert.equal(self?.pid, Deno.pid);
  assert.ok(self!.started > 0);
  assert.equal(await processId(0x3fffffff), null);
});

Deno.test("a client's journal restores the fake host exactly as its stop would, and its next start replays a left-over journal", async () => {
  await inTempDir(async (dir) => {
    const pki = await createTestPki();
    const fnet = new FakeNetwork();
    const server = new FakeServer(fnet, "10.0.0.1", pki, { ...push, redirectGateway: [] });
    try {
      const c = await config(pki, pki.dir, ["10.0.0.1"]);
      c.redirectGateway = [];
      const r = start(c, fnet, 4000, undefined, { journalDir: dir });
      const before = r.net.snapshot();
      await r.h.waitConnected(10_000);
      const path = journalPath(dir, "tun0", await currentNetnsInode());
      const during = r.net.snapshot();
      // What kill -9 would leave: the journal as it stands now.
      const left = await Deno.readTextFile(path);
      assert.ok(parseJournal(left, path).pending.length >= 4, left);
      await Deno.writeTextFile(path + ".copy", left.replace(/"pid":\d+/, '"pid":4000000'));
      await restoreFromJournal(path + ".copy", r.net, quiet());
      assert.deepEqual(r.net.snapshot(), before, "the journal alone restores the host");
      r.h.stop();
      assert.equal(await r.h.done, 0);
      await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound, "a clean stop removes the journal");

      // A crashed run's leftovers on the host and in the journal: the next start puts them back first.
      await r.net.addRoute(serverRoute.spec);
      await r.net.delRoute(defaultRoute.spec);
      await Deno.writeTextFile(path, left.replace(/"pid":\d+/, '"pid":4000000'));
      const r2 = start(c, fnet, 4000, undefined, { journalDir: dir, net: r.net });
      await r2.h.waitConnected(10_000);
      assert.ok(r2.lines.some((l) => /restored the host changes an earlier run left behind/.test(l)));
      assert.deepEqual(r2.net.snapshot(), during);
      r2.h.stop();
      assert.equal(await r2.h.done, 0);
      assert.deepEqual(r2.net.snapshot(), before);
    } finally {
      server.close();
      await pki.cleanup();
    }
  });
});
