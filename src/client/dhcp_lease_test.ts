import assert from "node:assert/strict";
import { dhcpServerFromLease, findDhcpServer } from "./dhcp_lease.ts";

Deno.test("dhcpServerFromLease() reads dhclient and systemd-networkd leases", () => {
  const dhclient = `lease {\n  option dhcp-server-identifier 192.168.1.1;\n}\n` +
    `lease {\n  interface "eth0";\n  option dhcp-server-identifier 10.0.0.67;\n}\n`;
  assert.equal(dhcpServerFromLease(dhclient), "10.0.0.67");
  assert.equal(dhcpServerFromLease("ADDRESS=10.1.2.3\nSERVER_ADDRESS=10.1.2.1\n"), "10.1.2.1");
  assert.equal(dhcpServerFromLease("nothing here"), null);
  assert.equal(dhcpServerFromLease("SERVER_ADDRESS=not-an-ip\n"), null);
});

Deno.test("findDhcpServer() picks the newest lease that names a server and skips missing directories", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/old.leases`, "option dhcp-server-identifier 192.168.1.1;");
    await Deno.utime(`${dir}/old.leases`, 1000, 1000);
    await Deno.writeTextFile(`${dir}/new.lease`, "SERVER_ADDRESS=10.0.0.67\n");
    await Deno.writeTextFile(`${dir}/other`, "no server");
    assert.equal(await findDhcpServer([`${dir}/missing`, dir]), "10.0.0.67");
    assert.equal(await findDhcpServer([`${dir}/missing`]), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
