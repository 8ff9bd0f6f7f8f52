/**
 * OpenVPN's ifconfig-pool-persist file (ipp.txt) for the server importer, so
 * the clients of a migrated server keep their addresses.
 *
 * Format (OpenVPN 2.6 pool.c): one `NAME,IPV4[,IPV6]` per line (`NAME,,IPV6`
 * without IPv4; 2.6 writes a trailing comma), `#` and `;` start comments. In
 * net30 the IPv4 is the base of the client's /30 (its address is base + 2);
 * otherwise it is the client's address.
 *
 * Each entry becomes a static address (`server.clients.NAME.address`,
 * `address6`): the client gets exactly that address. That is OpenVPN's
 * behaviour for `ifconfig-pool-persist FILE 0`; with a refresh interval
 * OpenVPN only prefers the address and may hand it to another client once the
 * pool runs short, tsvpn keeps it reserved (delete the entry to free it).
 * Entries that do not fit the new pool, repeat a name or address, or belong
 * to a client whose client-config-dir file already sets an address are
 * reported, not translated.
 */

import { basename } from "node:path";
import { formatIpv4, parseIpv4 } from "../addr/ip.ts";
import { planLayout, type ServerLayout } from "../pool/topology.ts";
import { planStatics, type StaticAddress } from "../pool/static_reservations.ts";
import { firstLine } from "../log/first_line.ts";
import type { ImportedOption } from "./ovpn_ccd.ts";
import { optionText, type OvpnDirective } from "./ovpn_lexer.ts";
import type { YamlWriter } from "./yaml_emit.ts";

export interface IppEntry {
  line: number;
  name: string;
  /** As written in the file ("" when absent). */
  ipv4: string;
  ipv6: string;
}

/** The entries of an ipp.txt; lines without a name and an address are returned as `bad`. */
export function parseIpp(text: string): { entries: IppEntry[]; bad: { line: number; text: string }[] } {
  const entries: IppEntry[] = [];
  const bad: { line: number; text: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const [name = "", ipv4 = "", ipv6 = ""] = line.split(",").map((f) => f.trim());
    if (name === "" || (ipv4 === "" && ipv6 === "")) bad.push({ line: i + 1, text: line });
    else entries.push({ line: i + 1, name, ipv4, ipv6 });
  });
  return { entries, bad };
}

export interface IppSource {
  /** The directive (`ifconfig-pool-persist FILE [SECONDS]`) and the server.conf it is in. */
  directive: OvpnDirective;
  confFile: string;
  /** FILE resolved against the config's directory. */
  path: string;
  /** Reads the file; absent: the file is reported as not read. */
  read?: (path: string) => string;
}

function scalar(yaml: YamlWriter, path: string): string | undefined {
  const v = yaml.get(path)?.value;
  return v?.kind === "scalar" ? String(v.value) : undefined;
}

/** The pool the translated YAML describes, or null without a server network. */
function translatedLayout(yaml: YamlWriter): ServerLayout | null {
  const network4 = scalar(yaml, "server.network");
  const network6 = scalar(yaml, "server.network6");
  if (network4 === undefined && network6 === undefined) return null;
  const device = scalar(yaml, "dev.type") === "tap" ? "tap" : "tun";
  const topology = (scalar(yaml, "server.topology") ?? "subnet") as "subnet" | "net30" | "p2p";
  return planLayout({ network4, network6, device, topology });
}

/** The static address an entry asks for (net30: base + 2), as tsvpn's config writes it. */
function staticOf(entry: IppEntry, layout: ServerLayout): StaticAddress {
  const spec: StaticAddress = {};
  if (entry.ipv4 !== "" && layout.network4 !== null) {
    spec.ipv4 = layout.pool4Kind === "net30" ? formatIpv4(parseIpv4(entry.ipv4) + 2) : entry.ipv4;
  }
  if (entry.ipv6 !== "" && layout.network6 !== null) spec.ipv6 = entry.ipv6;
  return spec;
}

/** Statics already in the YAML (client-config-dir ifconfig-push), by name. */
function existingStatics(yaml: YamlWriter, names: Iterable<string>): Record<string, StaticAddress> {
  const out: Record<string, StaticAddress> = {};
  for (const name of names) {
    const a4 = yaml.get(["server", "clients", name, "address"])?.value;
    const a6 = yaml.get(["server", "clients", name, "address6"])?.value;
    const spec: StaticAddress = {};
    if (a4?.kind === "scalar") spec.ipv4 = String(a4.value);
    if (a6?.kind === "scalar") spec.ipv6 = String(a6.value);
    if (spec.ipv4 !== undefined || spec.ipv6 !== undefined) out[name] = spec;
  }
  return out;
}

/**
 * Writes the file's entries as static addresses under server.clients; returns
 * what was not translated (the file itself, or single entries, with why).
 */
export function translateIpp(src: IppSource, yaml: YamlWriter, ccdNames: string[]): ImportedOption[] {
  const { directive: d, confFile, path } = src;
  const report = (
    reason: string,
  ): ImportedOption[] => [{ file: confFile, line: d.line, option: optionText(d), reason }];
  if (!src.read) return report(`${path} was not read: existing clients' addresses are not carried over`);
  let text: string;
  try {
    text = src.read(path);
  } catch (e) {
    // No file yet is OpenVPN's fresh start too: there is nothing to carry over.
    if (e instanceof Deno.errors.NotFound) return [];
    return report(`cannot read ${path} (${firstLine(e)}): existing clients' addresses are not carried over`);
  }
  const layout = translatedLayout(yaml);
  if (layout === null) return report("no server network to keep addresses in");
  const { entries, bad } = parseIpp(text);
  const ignored: ImportedOption[] = bad.map((b) => ({
    file: path,
    line: b.line,
    option: b.text,
    reason: "expected NAME,IPV4[,IPV6]",
  }));
  const statics = existingStatics(yaml, ccdNames);
  const fromCcd = new Set(Object.keys(statics));
  for (const entry of entries) {
    const why = addEntry(entry, layout, statics, fromCcd);
    if (why !== null) {
      ignored.push({
        file: path,
        line: entry.line,
        option: `${entry.name},${entry.ipv4},${entry.ipv6}`,
        reason: why,
      });
      continue;
    }
    const note = `${basename(path)}:${entry.line} (ifconfig-pool-persist)`;
    const spec = statics[entry.name];
    if (spec.ipv4 !== undefined) {
      yaml.set(["server", "clients", entry.name, "address"], { kind: "scalar", value: spec.ipv4 }, note);
    }
    if (spec.ipv6 !== undefined) {
      yaml.set(["server", "clients", entry.name, "address6"], { kind: "scalar", value: spec.ipv6 }, note);
    }
  }
  return ignored;
}

/** Adds the entry to `statics` when it fits; otherwise says why not. */
function addEntry(
  entry: IppEntry,
  layout: ServerLayout,
  statics: Record<string, StaticAddress>,
  fromCcd: Set<string>,
): string | null {
  if (Object.hasOwn(statics, entry.name)) {
    return fromCcd.has(entry.name) ? "its client-config-dir file sets the address" : "the name appears twice";
  }
  let spec: StaticAddress;
  try {
    spec = staticOf(entry, layout);
  } catch (e) {
    return firstLine(e);
  }
  if (spec.ipv4 === undefined && spec.ipv6 === undefined) return "no address in a family the new pool has";
  try {
    planStatics(layout, { ...statics, [entry.name]: spec });
  } catch (e) {
    return `does not fit the new pool: ${firstLine(e)}`;
  }
  statics[entry.name] = spec;
  return null;
}
