import assert from "node:assert/strict";
import type { PullFilterRule } from "../config/schema.ts";
import { hasControlChar, matchPullFilter, quotePushed, screenPushOptions } from "./push_screen.ts";

const PUSH = [
  "route-gateway 10.8.0.1",
  "route 10.20.0.0 255.255.0.0",
  "route 192.168.1.0 255.255.255.0",
  "dhcp-option DNS 10.8.0.1",
  "ifconfig 10.8.0.2 255.255.255.0",
];

function accepted(rules: PullFilterRule[], options = PUSH) {
  const r = screenPushOptions(rules, options);
  assert.equal(r.kind, "accepted", JSON.stringify(r));
  return r as Extract<typeof r, { kind: "accepted" }>;
}

Deno.test("screenPushOptions() without rules keeps every clean option in order", () => {
  const r = accepted([]);
  assert.deepEqual(r.options, PUSH);
  assert.deepEqual(r.ignored, []);
  assert.deepEqual(r.warnings, []);
});

Deno.test("screenPushOptions() compares a rule's text with the start of the option: 'route' also matches route-gateway", () => {
  const r = accepted([{ action: "ignore", text: "route" }]);
  assert.deepEqual(r.options, ["dhcp-option DNS 10.8.0.1", "ifconfig 10.8.0.2 255.255.255.0"]);
  assert.deepEqual(r.ignored, PUSH.slice(0, 3));
  assert.deepEqual(r.warnings, [], "ignore is silent");
});

Deno.test("screenPushOptions() lets the first matching rule decide (the manual's accept-then-ignore example)", () => {
  const r = accepted([
    { action: "accept", text: "route 192.168.1." },
    { action: "ignore", text: "route " },
  ]);
  assert.deepEqual(r.options, [
    "route-gateway 10.8.0.1",
    "route 192.168.1.0 255.255.255.0",
    "dhcp-option DNS 10.8.0.1",
    "ifconfig 10.8.0.2 255.255.255.0",
  ]);
  // Reversed, the ignore rule matches first and the accept rule never gets a say.
  const reversed = accepted([
    { action: "ignore", text: "route " },
    { action: "accept", text: "route 192.168.1." },
  ]);
  assert.deepEqual(reversed.ignored, ["route 10.20.0.0 255.255.0.0", "route 192.168.1.0 255.255.255.0"]);
});

Deno.test("screenPushOptions() matches case-sensitively and on the text as received", () => {
  assert.deepEqual(accepted([{ action: "ignore", text: "ROUTE" }]).ignored, []);
  // No unquoting: the rule must spell the quotes the server sent.
  const quoted = ['dhcp-option DOMAIN "corp.example"'];
  assert.deepEqual(accepted([{ action: "ignore", text: "dhcp-option DOMAIN corp" }], quoted).ignored, []);
  assert.deepEqual(
    accepted([{ action: "ignore", text: 'dhcp-option DOMAIN "corp' }], quoted).ignored,
    quoted,
  );
});

Deno.test("screenPushOptions() fails the whole push on a reject rule, naming the option and the rule", () => {
  const r = screenPushOptions([{ action: "reject", text: "dhcp-option DNS" }], PUSH);
  assert.deepEqual(r, {
    kind: "rejected",
    reason: 'pushed option "dhcp-option DNS 10.8.0.1" rejected by pull_filter reject "dhcp-option DNS"',
  });
  // An earlier accept shields the option from a later reject.
  const shielded = accepted([
    { action: "accept", text: "dhcp-option DNS 10.8." },
    { action: "reject", text: "dhcp-option DNS" },
  ]);
  assert.deepEqual(shielded.options, PUSH);
});

Deno.test("screenPushOptions() drops an option carrying a control character, with a one-line warning", () => {
  const hostile = [
    'dhcp-option DOMAIN "x\nnameserver 203.0.113.66"',
    "dhcp-option DNS 10.8.0.1",
    "dhcp-option NTP 10.8.0.1\r",
    'route "10.1.0.0\x00" 255.255.0.0',
    "topology subnet\x7f",
    "route 10.30.0.0\t255.255.0.0",
  ];
  const r = accepted([], hostile);
  assert.deepEqual(
    r.options,
    ["dhcp-option DNS 10.8.0.1", "route 10.30.0.0\t255.255.0.0"],
    "TAB only separates",
  );
  assert.equal(r.warnings.length, 4);
  assert.equal(
    r.warnings[0],
    'Ignoring pushed option "dhcp-option DOMAIN \\"x\\nnameserver 203.0.113.66\\"": it contains a control character',
  );
  for (const w of r.warnings) {
    assert.ok(isPrintable(w), `the warning itself is one clean line: ${w}`);
  }
});

Deno.test("screenPushOptions() lets an accept rule keep its option only if it is clean", () => {
  const r = accepted([{ action: "accept", text: "dhcp-option" }], ['dhcp-option DOMAIN "a\nb"']);
  assert.deepEqual(r.options, []);
  assert.equal(r.warnings.length, 1);
});

Deno.test("matchPullFilter() returns the first rule that matches, or null", () => {
  const rules: PullFilterRule[] = [{ action: "accept", text: "route 10." }, {
    action: "reject",
    text: "route",
  }];
  assert.equal(matchPullFilter(rules, "route 10.1.0.0 255.255.0.0"), rules[0]);
  assert.equal(matchPullFilter(rules, "route-ipv6 fd00::/64"), rules[1]);
  assert.equal(matchPullFilter(rules, "ping 10"), null);
});

Deno.test("quotePushed() escapes every control character, DEL, C1 and line separators included", () => {
  assert.equal(quotePushed('a\n"b"\x7f\x85\u2028'), '"a\\n\\"b\\"\\u007f\\u0085\\u2028"');
});

/** No character below 0x20 and no DEL (written out rather than as a regex with control characters). */
function isPrintable(s: string): boolean {
  return [...s].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
}

Deno.test("hasControlChar() finds 0x00-0x1f and DEL, and TAB only when not allowed", () => {
  assert.equal(hasControlChar("route 10.0.0.0 255.0.0.0"), false);
  for (const c of ["\x00", "\n", "\r", "\x1b", "\x1f", "\x7f"]) {
    assert.equal(hasControlChar(`a${c}b`), true, JSON.stringify(c));
    assert.equal(hasControlChar(`a${c}b`, true), true, JSON.stringify(c));
  }
  assert.equal(hasControlChar("a\tb"), true);
  assert.equal(hasControlChar("a\tb", true), false);
  assert.equal(hasControlChar("ü\u0085"), false, "C1 controls are not ASCII control characters");
});
