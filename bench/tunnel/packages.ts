/**
 * The programs the bench runs and the Debian packages that provide them;
 * missing ones are installed with apt-get (after apt-get update).
 */

export const PACKAGE_OF: Readonly<Record<string, string>> = {
  "ip": "iproute2",
  "ping": "iputils-ping",
  "iperf3": "iperf3",
  "openvpn": "openvpn",
  "wireguard-go": "wireguard-go",
  "wg": "wireguard-tools",
  "tcpdump": "tcpdump",
};

/** Programs every run needs, whatever the contenders. */
export const BASE_PROGRAMS = ["ip", "ping", "iperf3"];

const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Full path of an executable on PATH (plus the sbin directories); null when absent. */
export function findProgram(name: string): string | null {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...SEARCH_PATH];
  for (const dir of dirs) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}

/** Debian packages to install for the programs `has` says are missing, deduplicated, sorted. */
export function missingPackages(programs: readonly string[], has: (program: string) => boolean): string[] {
  const pkgs = new Set<string>();
  for (const p of programs) {
    if (has(p)) continue;
    const pkg = PACKAGE_OF[p];
    if (pkg === undefined) throw new Error(`No Debian package known for program "${p}"`);
    pkgs.add(pkg);
  }
  return [...pkgs].sort();
}

async function run(argv: string[]): Promise<void> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).spawn();
  const { code } = await child.status;
  if (code !== 0) throw new Error(`${argv.join(" ")} failed with exit code ${code}`);
}

/** Makes sure every program exists, installing packages when allowed; throws naming what is missing. */
export async function ensurePrograms(
  programs: readonly string[],
  install: boolean,
  log: (line: string) => void,
): Promise<void> {
  const pkgs = missingPackages(programs, (p) => findProgram(p) !== null);
  if (pkgs.length === 0) return;
  if (!install) throw new Error(`Missing Debian packages: ${pkgs.join(" ")} (rerun without --no-install)`);
  if (findProgram("apt-get") === null) {
    throw new Error(`Missing packages ${pkgs.join(" ")} and no apt-get to install them`);
  }
  log(`bench: installing missing Debian packages: ${pkgs.join(" ")} (apt-get update, then apt-get install)`);
  await run(["apt-get", "update"]);
  await run(["apt-get", "install", "-y", "--no-install-recommends", ...pkgs]);
  const still = missingPackages(programs, (p) => findProgram(p) !== null);
  if (still.length > 0) throw new Error(`Still missing after apt-get install: ${still.join(" ")}`);
}
