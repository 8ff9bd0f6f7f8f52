import assert from "node:assert/strict";
import { DerError } from "./der.ts";
import { type GeneralName, nameViolation, readNameConstraints } from "./name_constraints.ts";
import { issue, selfSignedCa } from "../testing/pki/certs.ts";
import { openssl, opensslTest } from "../testing/pki/openssl.ts";
import { pemOf, selfSigned } from "../testing/pki/policy.ts";
import { verifyPeerCertificate } from "./verify.ts";

// -- Matching rules, one form at a time --

const dns = (text: string): GeneralName => ({ kind: "dns", text });
const email = (text: string): GeneralName => ({ kind: "email", text });
const ip = (...bytes: number[]): GeneralName => ({ kind: "ip", bytes: Uint8Array.from(bytes) });

function permits(name: GeneralName, base: GeneralName): boolean {
  return nameViolation([name], { permitted: [base], excluded: [] }) === null;
}

Deno.test("nameViolation() matches dNSName subtrees on label boundaries, ASCII case-insensitively", () => {
  const table: [string, string, boolean][] = [
    ["example.com", "example.com", true],
    ["vpn.example.com", "example.com", true],
    ["a.b.example.com", "example.com", true],
    ["VPN.Example.COM", "example.com", true],
    ["vpn.example.com.", "example.com", true],
    ["evilexample.com", "example.com", false],
    ["example.com.evil", "example.com", false],
    ["example.com", ".example.com", false],
    ["vpn.example.com", ".example.com", true],
    ["anything.at.all", "", true],
    ["com", "example.com", false],
  ];
  for (const [name, base, expected] of table) {
    assert.equal(permits(dns(name), dns(base)), expected, `${name} in ${base}`);
  }
});

Deno.test("nameViolation() matches rfc822Name subtrees as mailbox, host or subdomain", () => {
  const table: [string, string, boolean][] = [
    ["alice@example.com", "alice@example.com", true],
    ["Alice@example.com", "alice@example.com", false],
    ["alice@EXAMPLE.com", "alice@example.com", true],
    ["bob@example.com", "alice@example.com", false],
    ["bob@example.com", "example.com", true],
    ["bob@mail.example.com", "example.com", false],
    ["bob@mail.example.com", ".example.com", true],
    ["bob@example.com", ".example.com", false],
  ];
  for (const [name, base, expected] of table) {
    assert.equal(permits(email(name), email(base)), expected, `${name} in ${base}`);
  }
  // A mailbox without "@" cannot be checked: refused whenever rfc822Name constraints exist.
  assert.equal(
    nameViolation([email("no-at-sign")], { permitted: [email("example.com")], excluded: [] }),
    "email:no-at-sign cannot be checked against nameConstraints",
  );
});

Deno.test("nameViolation() matches iPAddress subtrees by address and mask within one family", () => {
  const v4net = ip(192, 0, 2, 0, 255, 255, 255, 0);
  assert.equal(permits(ip(192, 0, 2, 77), v4net), true);
  assert.equal(permits(ip(192, 0, 3, 1), v4net), false);
  const v6net = ip(
    0x20,
    0x01,
    0x0d,
    0xb8,
    ...new Array(12).fill(0),
    0xff,
    0xff,
    0xff,
    0xff,
    ...new Array(12).fill(0),
  );
  const v6addr = ip(0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1);
  assert.equal(permits(v6addr, v6net), true);
  assert.equal(permits(ip(0x20, 0x01, 0x0d, 0xb9, ...new Array(11).fill(0), 1), v6net), false);
  // An IPv4 address is in no IPv6 subtree (and the reverse).
  assert.equal(permits(ip(192, 0, 2, 77), v6net), false);
  assert.equal(permits(v6addr, v4net), false);
});

Deno.test("nameViolation() applies excluded subtrees before permitted ones and leaves other forms alone", () => {
  const nc = { permitted: [dns("example.com")], excluded: [dns("bad.example.com")] };
  assert.equal(nameViolation([dns("ok.example.com")], nc), null);
  assert.equal(
    nameViolation([dns("x.bad.example.com")], nc),
    "DNS:x.bad.example.com is excluded by nameConstraints",
  );
  assert.equal(
    nameViolation([dns("elsewhere.org")], nc),
    "DNS:elsewhere.org is not permitted by nameConstraints",
  );
  // Forms without constraints are not restricted by the others' permitted subtrees.
  assert.equal(nameViolation([email("x@elsewhere.org"), ip(10, 0, 0, 1)], nc), null);
});

Deno.test("readNameConstraints() refuses malformed encodings and marks unsupported forms and distances", () => {
  const bad = [
    [0x30, 0x00, 0x00], // trailing byte
    [0x30, 0x02, 0xa0, 0x00], // empty permitted subtrees
    [0x30, 0x06, 0xa1, 0x02, 0x30, 0x00, 0xa0, 0x00], // excluded before permitted, empty subtree
    [0x30, 0x06, 0xa0, 0x04, 0x30, 0x02, 0x89, 0x00], // GeneralName tag [9]
  ];
  for (const bytes of bad) {
    assert.throws(() => readNameConstraints(Uint8Array.from(bytes)), DerError, String(bytes));
  }
  // permitted URI:x, then a dNSName subtree with maximum 1.
  const uri = readNameConstraints(Uint8Array.of(0x30, 0x07, 0xa0, 0x05, 0x30, 0x03, 0x86, 0x01, 0x78));
  assert.deepEqual(uri.permitted, [{ kind: "other", form: "uniformResourceIdentifier" }]);
  const max = readNameConstraints(
    Uint8Array.of(0x30, 0x0a, 0xa1, 0x08, 0x30, 0x06, 0x82, 0x01, 0x78, 0x81, 0x01, 0x01),
  );
  assert.deepEqual(max.excluded, [{ kind: "other", form: "a minimum or maximum distance" }]);
});

// -- Whole chains made by openssl, judged by verifyPeerCertificate() and by `openssl verify` --

const SUB_CA = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];

interface Leaf {
  name: string;
  subject: string;
  san?: string;
  /** Exact refusal reason, or "ok". */
  expected: string;
  /** Whether `openssl verify` accepts it; defaults to expected === "ok". */
  opensslOk?: boolean;
}

async function judge(dir: string, anchor: string, sub: string | null, leaves: Leaf[]): Promise<void> {
  const ca = pemOf(await Deno.readFile(`${dir}/${anchor}.crt`).then((b) => derOfPem(b)));
  const intermediates = sub === null ? [] : [derOfPem(await Deno.readFile(`${dir}/${sub}.crt`))];
  for (const leaf of leaves) {
    const ext = ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature", "extendedKeyUsage=clientAuth"];
    if (leaf.san) ext.push(`subjectAltName=${leaf.san}`);
    const cert = await issue(dir, sub ?? anchor, leaf.name, { subject: leaf.subject, ext });
    const r = await verifyPeerCertificate(cert.der, { ca, usage: "clientAuth", intermediates });
    assert.equal(r.ok ? "ok" : r.reason, leaf.expected, leaf.name);
    const args = [
      "verify",
      "-CAfile",
      `${anchor}.crt`,
      ...(sub ? ["-untrusted", `${sub}.crt`] : []),
      `${leaf.name}.crt`,
    ];
    const ossl = await openssl(args, dir);
    assert.equal(ossl.ok, leaf.opensslOk ?? leaf.expected === "ok", `${leaf.name}: openssl says ${ossl.out}`);
  }
}

function derOfPem(bytes: Uint8Array): Uint8Array {
  const b64 = new TextDecoder().decode(bytes).replace(/-----[^-]+-----|\s/g, "");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

const BY_EXAMPLE = "of CA certificate Example CA";

opensslTest(
  "verifyPeerCertificate() enforces permitted subtrees of an intermediate CA for every name form",
  async (dir) => {
    await selfSignedCa(dir, "Root", "p256");
    await issue(dir, "Root", "Example CA", {
      subject: "/CN=Example CA",
      ext: [
        ...SUB_CA,
        "nameConstraints=critical,permitted;DNS:example.com,permitted;IP:192.0.2.0/255.255.255.0," +
        "permitted;IP:2001:db8::/ffff:ffff::,permitted;email:example.com,permitted;dirName:dir_sect",
        "[ dir_sect ]",
        "O=Example",
      ],
    });
    const notPermitted = (what: string) =>
      `certificate: ${what} is not permitted by nameConstraints ${BY_EXAMPLE}`;
    await judge(dir, "Root", "Example CA", [
      {
        name: "all-inside",
        subject: "/O=Example/CN=alice",
        san: "DNS:vpn.example.com,IP:192.0.2.5,IP:2001:db8::5,email:alice@example.com",
        expected: "ok",
      },
      { name: "plain-cn", subject: "/O=Example/CN=frank", expected: "ok" },
      { name: "spaced-dn", subject: "/O=  EXAMPLE  /CN=dave", expected: "ok" },
      {
        name: "dns-out",
        subject: "/O=Example/CN=bob",
        san: "DNS:vpn.evil.com",
        expected: notPermitted("DNS:vpn.evil.com"),
      },
      {
        name: "dns-suffix",
        subject: "/O=Example/CN=bob2",
        san: "DNS:evilexample.com",
        expected: notPermitted("DNS:evilexample.com"),
      },
      {
        name: "ip-out",
        subject: "/O=Example/CN=carl",
        san: "IP:198.51.100.1",
        expected: notPermitted("IP:198.51.100.1"),
      },
      {
        name: "ip6-out",
        subject: "/O=Example/CN=carl6",
        san: "IP:2001:db9::1",
        expected: notPermitted("IP:2001:db9:0:0:0:0:0:1"),
      },
      {
        name: "email-out",
        subject: "/O=Example/CN=eve",
        san: "email:eve@evil.com",
        expected: notPermitted("email:eve@evil.com"),
      },
      { name: "dn-out", subject: "/O=Evil/CN=carol", expected: notPermitted("its subject DN") },
      {
        name: "cn-host-out",
        subject: "/O=Example/CN=vpn.evil.com",
        expected: notPermitted("DNS:vpn.evil.com"),
      },
      {
        name: "cn-ip-out",
        subject: "/O=Example/CN=203.0.113.9",
        expected: notPermitted("DNS:203.0.113.9"),
      },
      {
        // OpenSSL skips the CN once a DNS name is present; tsvpn matches names against the CN, so it checks it.
        name: "cn-host-out-with-san",
        subject: "/O=Example/CN=vpn.evil.com",
        san: "DNS:vpn.example.com",
        expected: notPermitted("DNS:vpn.evil.com"),
        opensslOk: true,
      },
      {
        name: "dn-email-out",
        subject: "/O=Example/CN=erin/emailAddress=erin@evil.com",
        expected: notPermitted("email:erin@evil.com"),
      },
    ]);
  },
);

opensslTest(
  "verifyPeerCertificate() enforces excluded subtrees, on an intermediate or on the trust anchor",
  async (dir) => {
    const exclusions = [
      "nameConstraints=critical,excluded;DNS:bad.example.com,excluded;IP:10.0.0.0/255.0.0.0," +
      "excluded;email:.bad.example.com,excluded;dirName:dir_sect",
      "[ dir_sect ]",
      "O=Bad",
    ];
    await selfSignedCa(dir, "Root", "p256");
    await issue(dir, "Root", "Excl CA", { ext: [...SUB_CA, ...exclusions] });
    await selfSigned(dir, "Excl Root", [...SUB_CA, ...exclusions]);
    const excluded = (what: string, ca: string) =>
      `certificate: ${what} is excluded by nameConstraints of CA certificate ${ca}`;
    for (
      const [anchor, sub, ca] of [["Root", "Excl CA", "Excl CA"], ["Excl Root", null, "Excl Root"]] as const
    ) {
      const tag = anchor.replace(" ", "");
      await judge(dir, anchor, sub, [
        {
          name: `${tag}-good`,
          subject: "/O=Good/CN=ok",
          san: "DNS:good.example.com,IP:192.0.2.1",
          expected: "ok",
        },
        {
          name: `${tag}-dns`,
          subject: "/CN=a",
          san: "DNS:x.bad.example.com",
          expected: excluded("DNS:x.bad.example.com", ca),
        },
        {
          name: `${tag}-case`,
          subject: "/CN=b",
          san: "DNS:X.BAD.Example.com",
          expected: excluded("DNS:X.BAD.Example.com", ca),
        },
        {
          name: `${tag}-dot`,
          subject: "/CN=c",
          san: "DNS:x.bad.example.com.",
          expected: excluded("DNS:x.bad.example.com.", ca),
          opensslOk: true, // OpenSSL compares the trailing dot literally
        },
        { name: `${tag}-ip`, subject: "/CN=d", san: "IP:10.1.2.3", expected: excluded("IP:10.1.2.3", ca) },
        {
          name: `${tag}-email`,
          subject: "/CN=e",
          san: "email:u@mail.bad.example.com",
          expected: excluded("email:u@mail.bad.example.com", ca),
        },
        { name: `${tag}-dn`, subject: "/O=Bad/CN=f", expected: excluded("its subject DN", ca) },
      ]);
    }
    // The constraints bind intermediates too: a sub-CA named inside an excluded subtree.
    await issue(dir, "Excl Root", "Bad Sub", { subject: "/O=Bad/CN=Bad Sub", ext: SUB_CA });
    await judge(dir, "Excl Root", "Bad Sub", [{
      name: "below-bad-sub",
      subject: "/O=Good/CN=g",
      expected:
        "CA certificate Bad Sub: its subject DN is excluded by nameConstraints of CA certificate Excl Root",
    }]);
  },
);

opensslTest(
  "verifyPeerCertificate() refuses a CA whose nameConstraints use a form tsvpn does not enforce",
  async (dir) => {
    await selfSignedCa(dir, "Root", "p256");
    await issue(dir, "Root", "URI CA", {
      ext: [...SUB_CA, "nameConstraints=critical,permitted;URI:.example.com"],
    });
    await judge(dir, "Root", "URI CA", [
      {
        name: "under-uri-ca",
        subject: "/CN=alice",
        expected:
          "CA certificate URI CA has nameConstraints on uniformResourceIdentifier, which tsvpn does not enforce",
        opensslOk: true,
      },
    ]);
  },
);
