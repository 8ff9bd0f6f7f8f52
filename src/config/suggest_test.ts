import assert from "node:assert/strict";
import { editDistance, suggest } from "./suggest.ts";

Deno.test("editDistance() counts an adjacent swap as one edit", () => {
  assert.equal(editDistance("clinet", "client"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
});

Deno.test("suggest() returns the closest plausible candidate or null", () => {
  assert.equal(suggest("clinet_to_client", ["client_to_client", "duplicate_cn"]), "client_to_client");
  assert.equal(suggest("Subnet", ["net30", "p2p", "subnet"]), "subnet");
  assert.equal(suggest("star", ["net30", "p2p", "subnet"]), null);
  assert.equal(suggest("x", ["y"]), "y");
});
