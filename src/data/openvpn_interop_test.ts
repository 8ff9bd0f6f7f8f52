/**
 * Checks our AEAD framing against the stock `openvpn` binary: `openvpn
 * --test-crypto --verb 9` seals random packets with a key file we write and
 * prints nonce ("ENCRYPT IV"), AAD, plaintext and wire bytes ("ENCRYPT TO":
 * packet-id | tag | ciphertext). Static-key mode, so the AAD is the packet-id
 * alone: the same as P_DATA_V1. No network, no root; skipped without openvpn.
 */

import assert from "node:assert/strict";
import { noOpenvpn } from "../testing/openvpn.ts";
import type { CipherName } from "./aead.ts";
import { NobleAead } from "./aead_noble.ts";
import { NodeAead } from "./aead_node.ts";
import { DataChannel } from "./data_channel.ts";
import { dataKeysFromParts } from "./key_material.ts";
import { fromHex, toHex } from "../testing/data/hex.ts";
import { OPEN_OK } from "./verdicts.ts";

interface Sample {
  iv: string;
  from: string;
  ad: string;
  to: string;
}

function parse(log: string): Sample[] {
  const out: Sample[] = [];
  let cur: Partial<Sample> = {};
  for (const line of log.split("\n")) {
    const m = /ENCRYPT (IV|FROM|AD|TO): ([0-9a-f ]+)$/.exec(line);
    if (!m) continue;
    const hex = m[2].replaceAll(" ", "");
    if (m[1] === "IV") cur = { iv: hex };
    else if (m[1] === "FROM") cur.from = hex;
    else if (m[1] === "AD") cur.ad = hex;
    else if (cur.iv && cur.from && cur.ad) {
      out.push({ iv: cur.iv, from: cur.from, ad: cur.ad, to: hex });
      cur = {};
    }
  }
  return out;
}

for (const cipher of ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"] as CipherName[]) {
  Deno.test({
    name: `openvpn --test-crypto ${cipher} packets match NodeAead, NobleAead and DataChannel.open()`,
    ignore: noOpenvpn,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "tsvpn_data_interop_" });
      try {
        const key2 = crypto.getRandomValues(new Uint8Array(256));
        const hex = toHex(key2).match(/.{32}/g)!.join("\n");
        const file = `${dir}/static.key`;
        await Deno.writeTextFile(
          file,
          `-----BEGIN OpenVPN Static key V1-----\n${hex}\n-----END OpenVPN Static key V1-----\n`,
        );
        const res = await new Deno.Command("openvpn", {
          args: ["--test-crypto", "--secret", file, "--cipher", cipher, "--verb", "9", "--tun-mtu", "100"],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).output();
        const log = new TextDecoder().decode(res.stdout);
        assert.match(log, /crypto self-test mode SUCCEEDED/);
        const samples = parse(log).filter((s) => !s.to.includes("more"));
        assert.ok(samples.length >= 10, `parsed ${samples.length} packets`);

        const key = key2.slice(0, cipher === "AES-128-GCM" ? 16 : 32);
        for (const s of samples) {
          assert.equal(s.ad, s.to.slice(0, 8), "AAD is the packet-id");
          assert.equal(s.iv.slice(0, 8), s.to.slice(0, 8), "nonce starts with the packet-id");
          const len = s.from.length / 2;
          for (const aead of [new NodeAead(cipher, key), new NobleAead(cipher, key)]) {
            const buf = new Uint8Array(4 + 16 + len);
            buf.set(fromHex(s.ad), 0);
            buf.set(fromHex(s.from), 20);
            aead.seal(fromHex(s.iv), buf, 0, 4, 20, len, 4);
            assert.equal(toHex(buf), s.to, `${aead.backend} len ${len}`);
          }
          const iv = fromHex(s.iv.slice(8));
          const dc = new DataChannel();
          dc.installKey(
            0,
            dataKeysFromParts(cipher, { encryptKey: key, encryptIv: iv, decryptKey: key, decryptIv: iv }),
            0,
          );
          const wire = fromHex("30" + s.to); // P_DATA_V1, key-id 0
          assert.equal(dc.open(wire, 0, wire.length), OPEN_OK);
          assert.equal(toHex(wire.subarray(dc.plainOff, dc.plainOff + dc.plainLen)), s.from);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
