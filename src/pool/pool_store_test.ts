import assert from "node:assert/strict";
import { AddressPool } from "./address_pool.ts";
import { parsePoolSnapshot, type PoolFileIo, PoolStore } from "./pool_store.ts";
import { planLayout } from "./topology.ts";

function memoryIo(files: Map<string, string>): PoolFileIo {
  return {
    readTextFile: (path) => {
      const text = files.get(path);
      return text === undefined ? Promise.reject(new Deno.errors.NotFound(path)) : Promise.resolve(text);
    },
    replaceFile: (path, data) => {
      files.set(path, data);
      return Promise.resolve();
    },
  };
}

Deno.test("PoolStore.load() returns null for a missing file and round-trips save()", async () => {
  const files = new Map<string, string>();
  const store = new PoolStore("/var/lib/tsvpn/pool.json", memoryIo(files));
  assert.equal(await store.load(), null);
  const snap = { version: 1 as const, leases: [{ name: "alice", ipv4: "10.8.0.2", ipv6: "fd00:8::1000" }] };
  await store.save(snap);
  assert.deepEqual([...files.keys()], ["/var/lib/tsvpn/pool.json"]);
  assert.deepEqual(await store.load(), snap);
});

Deno.test("PoolStore.load() names the file and the problem for bad content", async () => {
  const files = new Map([["/p.json", "{nope"]]);
  const store = new PoolStore("/p.json", memoryIo(files));
  await assert.rejects(
    () => store.load(),
    (e: Error) => e instanceof SyntaxError && e.message.startsWith("Pool file /p.json is not valid JSON"),
  );
  assert.throws(() => parsePoolSnapshot('{"version":2,"leases":[]}', "/p.json"), {
    message: "Pool file /p.json is not a tsvpn pool file: unsupported version 2",
  });
  assert.throws(() => parsePoolSnapshot('{"version":1,"leases":[{"name":""}]}', "/p.json"), {
    message: "Pool file /p.json is not a tsvpn pool file: leases[0].name must be a non-empty string",
  });
  assert.throws(() => parsePoolSnapshot('{"version":1,"leases":[{"name":"a","ipv4":5}]}', "/p.json"), {
    message: "Pool file /p.json is not a tsvpn pool file: leases[0].ipv4 must be a string",
  });
  assert.throws(() => parsePoolSnapshot("[]", "/p.json"), SyntaxError);
});

Deno.test("PoolStore.save() and load() reject with the file name when I/O fails", async () => {
  const failing: PoolFileIo = {
    readTextFile: () => Promise.reject(new Deno.errors.PermissionDenied("denied")),
    replaceFile: () => Promise.reject(new Error("disk full")),
  };
  const store = new PoolStore("/p.json", failing);
  await assert.rejects(() => store.load(), { message: "Cannot read pool file /p.json: denied" });
  await assert.rejects(() => store.save({ version: 1, leases: [] }), {
    message: "Cannot write pool file /p.json: disk full",
  });
});

Deno.test("PoolStore keeps addresses across a restart with a real file in a temp dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_pool_" });
  try {
    const path = `${dir}/pool.json`;
    const layout = planLayout({ network4: "10.8.0.0/24", topology: "net30" });
    const first = new AddressPool(layout);
    const store = new PoolStore(path);
    assert.equal(await store.load(), null);
    const a = first.allocate("alice");
    const b = first.allocate("bob");
    assert.ok(a.ok && b.ok);
    await store.save(first.snapshot());

    const second = new AddressPool(layout);
    const snap = await new PoolStore(path).load();
    assert.ok(snap !== null);
    second.restore(snap);
    const b2 = second.allocate("bob");
    assert.ok(b2.ok);
    assert.equal(second.pushIfconfig(b2.lease).ifconfig, "10.8.0.10 10.8.0.9");
    assert.equal(JSON.parse(await Deno.readTextFile(path)).leases.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PoolStore.save() writes the real file 0600 and never through a symlink at the file or its temp name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_pool_" });
  try {
    const path = `${dir}/ipp.json`;
    await Deno.writeTextFile(`${dir}/victim`, "precious\n");
    await Deno.symlink(`${dir}/victim`, path);
    await Deno.symlink(`${dir}/victim`, `${path}.tmp-${Deno.pid}`);
    const snap = { version: 1 as const, leases: [{ name: "alice", ipv4: "10.8.0.2" }] };
    await new PoolStore(path).save(snap);
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "precious\n");
    const info = await Deno.lstat(path);
    assert.ok(info.isFile && !info.isSymlink);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.deepEqual(await new PoolStore(path).load(), snap);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["ipp.json", "victim"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
