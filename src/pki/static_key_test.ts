import assert from "node:assert/strict";
import { noOpenvpn } from "../testing/openvpn.ts";
import { formatStaticKey, generateStaticKey, parseStaticKey, STATIC_KEY_BYTES } from "./static_key.ts";

async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("parseStaticKey() reads a key made by openvpn --genkey and formatStaticKey() reproduces it", {
  ignore: noOpenvpn,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/ta.key`;
    const r = await run("openvpn", ["--genkey", "secret", file]);
    assert.equal(r.code, 0, r.out);
    const text = await Deno.readTextFile(file);
    const key = parseStaticKey(text);
    assert.equal(key.length, STATIC_KEY_BYTES);
    const firstHex = text.split("\n").find((l) => /^[0-9a-f]{32}$/.test(l))!;
    assert.equal(Array.from(key.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join(""), firstHex);
    assert.equal(formatStaticKey(key), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("formatStaticKey() output is accepted by openvpn's static key loader", {
  ignore: noOpenvpn,
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/tc.key`;
    await Deno.writeTextFile(file, formatStaticKey(generateStaticKey()));
    // --test-crypto loads the file as a static key and runs an encrypt/decrypt loop, then exits.
    const r = await run("timeout", [
      "60",
      "openvpn",
      "--test-crypto",
      "--secret",
      file,
      "--cipher",
      "AES-256-CBC",
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /self-test mode SUCCEEDED/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseStaticKey() round-trips formatStaticKey() for a generated key", () => {
  const key = generateStaticKey();
  assert.equal(key.length, 256);
  assert.deepEqual(parseStaticKey(formatStaticKey(key)), key);
  assert.notDeepEqual(generateStaticKey(), key);
});

Deno.test("parseStaticKey() accepts CRLF line ends and no comments", () => {
  const key = generateStaticKey();
  const text = formatStaticKey(key).split("\n").slice(3).join("\r\n");
  assert.deepEqual(parseStaticKey(text), key);
});

Deno.test("parseStaticKey() rejects malformed files with a clear reason", () => {
  const good = formatStaticKey(generateStaticKey());
  const lines = good.split("\n");
  assert.throws(() => parseStaticKey(""), /no "-----BEGIN OpenVPN Static key V1-----" line/);
  assert.throws(() => parseStaticKey("hello\n" + good), /line 1: expected comment/);
  assert.throws(() => parseStaticKey(lines.slice(0, 10).join("\n")), /no "-----END/);
  const short = [...lines.slice(0, 5), ...lines.slice(6)].join("\n");
  assert.throws(() => parseStaticKey(short), /holds 240 bytes, expected 256/);
  const long = [...lines.slice(0, 5), lines[5], ...lines.slice(5)].join("\n");
  assert.throws(() => parseStaticKey(long), /more than 256 bytes/);
  const badHex = [...lines.slice(0, 6), "zz" + lines[6].slice(2), ...lines.slice(7)].join("\n");
  assert.throws(() => parseStaticKey(badHex), /line 7: invalid hex character "z"/);
});

Deno.test("formatStaticKey() rejects a key of the wrong size", () => {
  assert.throws(() => formatStaticKey(new Uint8Array(32)), /must be 256 bytes, got 32/);
});
