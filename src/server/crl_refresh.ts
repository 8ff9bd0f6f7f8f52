/**
 * Keeps the CRL of a server that holds its own CA (zero-config) current.
 * OpenVPN, and tsvpn since its certificate policy, refuse every client once
 * the CRL passes its nextUpdate; the built-in CA signs CRLs for 180 days and
 * nothing else would re-sign one on a server left alone for months. So the
 * server re-signs it (same content, new nextUpdate) when fewer than
 * REFRESH_BEFORE_DAYS remain, at start and twice a day; the CRL watcher
 * then reads the new file like any other.
 */
import type { Logger } from "../log/log.ts";
import { decodePem } from "../pki/pem.ts";
import { parseRevocationList } from "../pki/revocation_list.ts";

export const REFRESH_BEFORE_DAYS = 30;
export const CHECK_EVERY_MS = 12 * 3600_000;
const DAY_MS = 86_400_000;

export interface CrlRefreshOptions {
  /** The CA directory (ca.crt, ca.key, index.json, crl.pem). */
  pkiDir: string;
  log: Logger;
  now?: () => Date;
  /** Re-signs DIR/crl.pem; defaults to the built-in CA's refreshCrl (loaded only when needed). */
  refresh?: (dir: string, now: Date) => Promise<void>;
}

/** nextUpdate of DIR/crl.pem; null when it has none. Throws when the file cannot be read or parsed. */
async function nextUpdateOf(pkiDir: string): Promise<Date | null> {
  const [der] = decodePem(await Deno.readTextFile(`${pkiDir}/crl.pem`), "X509 CRL");
  if (der === undefined) throw new Error("no X509 CRL block");
  return parseRevocationList(der).nextUpdate;
}

async function builtInRefresh(dir: string, now: Date): Promise<void> {
  // The CA code pulls in @peculiar/x509; a running server loads it only on the rare refresh.
  const { refreshCrl } = await import("../pki/revoke.ts");
  await refreshCrl(dir, { now });
}

/** Re-signs the CRL when it expires within REFRESH_BEFORE_DAYS; true when it did. Never throws. */
export async function refreshCrlIfDue(options: CrlRefreshOptions): Promise<boolean> {
  const now = (options.now ?? (() => new Date()))();
  try {
    const nextUpdate = await nextUpdateOf(options.pkiDir);
    if (nextUpdate === null || nextUpdate.getTime() - now.getTime() > REFRESH_BEFORE_DAYS * DAY_MS) {
      return false;
    }
    await (options.refresh ?? builtInRefresh)(options.pkiDir, now);
    const renewed = await nextUpdateOf(options.pkiDir);
    options.log.info("CRL re-signed before it expires", {
      was: nextUpdate.toISOString(),
      nextUpdate: renewed?.toISOString() ?? "none",
    });
    return true;
  } catch (err) {
    options.log.warn("cannot refresh the CRL", { dir: options.pkiDir, error: (err as Error).message });
    return false;
  }
}

/** Checks now and every CHECK_EVERY_MS until the returned stop() is called. */
export async function keepCrlCurrent(options: CrlRefreshOptions): Promise<{ stop(): void }> {
  await refreshCrlIfDue(options);
  let running: Promise<boolean> | null = null;
  const timer = setInterval(() => {
    running ??= refreshCrlIfDue(options).finally(() => running = null);
  }, CHECK_EVERY_MS);
  Deno.unrefTimer(timer);
  return { stop: () => clearInterval(timer) };
}
