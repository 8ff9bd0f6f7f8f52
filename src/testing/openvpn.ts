/** Test support: whether the stock `openvpn` binary runs here (tests that need it are ignored otherwise). */

function hasOpenvpn(): boolean {
  try {
    // Builds differ: `openvpn --version` exits 0 or 1 after printing the version.
    return new Deno.Command("openvpn", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .code <= 1;
  } catch {
    return false;
  }
}

/** True when tests that run `openvpn` must be ignored. */
export const noOpenvpn = !hasOpenvpn();
