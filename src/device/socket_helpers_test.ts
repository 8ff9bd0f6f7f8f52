import assert from "node:assert/strict";
import { EndpointSlots } from "./datagram_socket.ts";
import { closeQuietly, sendEach } from "./socket_helpers.ts";

Deno.test("sendEach() sends count datagrams in order to their rows and counts the accepted ones", () => {
  const seen: string[] = [];
  const socket = {
    send: (buf: Uint8Array, off: number, len: number, to: EndpointSlots, row: number) => {
      seen.push(`${[...buf.subarray(off, off + len)]}@${to.port(row)}`);
      return to.port(row) !== 2;
    },
  };
  const to = new EndpointSlots(3);
  for (let r = 0; r < 3; r++) to.setIpv4(r, 0x7f000001, r + 1);
  const bufs = [Uint8Array.of(9, 1, 2), Uint8Array.of(3), Uint8Array.of(4, 5), Uint8Array.of(6)];
  const n = sendEach(
    socket,
    bufs,
    Int32Array.of(1, 0, 0, 0),
    Int32Array.of(2, 1, 2, 1),
    3,
    to,
    Int32Array.of(0, 1, 2),
  );
  assert.deepEqual(seen, ["1,2@1", "3@2", "4,5@3"], "only the first count, each to its row");
  assert.equal(n, 2, "the refused one is not counted");
});

Deno.test("closeQuietly() closes once and swallows the error of a second close", () => {
  let closes = 0;
  const r = {
    close() {
      if (++closes > 1) throw new Deno.errors.BadResource("Bad resource ID");
    },
  };
  closeQuietly(r);
  closeQuietly(r);
  assert.equal(closes, 2);
});
