import assert from "node:assert/strict";
import { parse } from "yaml";
import { yamlScalar, YamlWriter } from "./yaml_emit.ts";

Deno.test("yamlScalar() leaves safe strings plain and quotes what YAML would misread", () => {
  assert.equal(yamlScalar("10.8.0.0/24"), "10.8.0.0/24");
  assert.equal(yamlScalar("127.0.0.1:7505"), "127.0.0.1:7505");
  assert.equal(yamlScalar("true"), '"true"');
  assert.equal(yamlScalar("1194"), '"1194"');
  assert.equal(yamlScalar("::"), '"::"');
  assert.equal(yamlScalar("!ipv4"), '"!ipv4"');
  assert.equal(yamlScalar("a, b"), '"a, b"');
  assert.equal(yamlScalar("a #b"), '"a #b"');
  assert.equal(yamlScalar(""), '""');
  assert.equal(yamlScalar(42), "42");
  for (const s of ["::", "!ipv4", "a: b", "x\ny", "null", "~", "[x]"]) assert.equal(parse(yamlScalar(s)), s);
});

Deno.test("YamlWriter writes keys in the given order with notes, section comments and blocks", () => {
  const w = new YamlWriter(["head"], new Map([["", ["a", "b"]], ["b", ["y", "x"]]]), { b: "about b" });
  w.set("b.x", { kind: "scalar", value: 1 }, "from x");
  w.append("b.y", "p", "n1");
  w.append("b.y", "q", "n2");
  w.set("a", { kind: "block", text: "line1\nline2\n" });
  w.touch("c");
  const text = w.toString();
  assert.equal(
    text,
    "# head\n\na: |\n  line1\n  line2\n\n# about b\nb:\n  y: [p, q]  # n1; n2\n  x: 1  # from x\n\nc: {}\n",
  );
  assert.deepEqual(parse(text), { a: "line1\nline2\n", b: { y: ["p", "q"], x: 1 }, c: {} });
});
