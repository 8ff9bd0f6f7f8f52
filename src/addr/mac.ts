/**
 * Ethernet MAC addresses as 48-bit integer numbers (exact in a double):
 * aa:bb:cc:dd:ee:ff is 0xaabbccddeeff. Used as switch keys; text only at edges.
 */

export const MAC_BROADCAST = 0xffff_ffff_ffff;

const TWO_32 = 0x1_0000_0000;

/** Parses "aa:bb:cc:dd:ee:ff" (or with "-" separators) into a 48-bit number. */
export function parseMac(text: string): number {
  if (!/^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(text)) {
    throw new SyntaxError(`Invalid MAC address "${text}"`);
  }
  return parseInt(text.replace(/[:-]/g, ""), 16);
}

/** Formats a 48-bit number as lowercase "aa:bb:cc:dd:ee:ff". */
export function formatMac(mac: number): string {
  if (!Number.isInteger(mac) || mac < 0 || mac > MAC_BROADCAST) {
    throw new RangeError(`Not a 48-bit MAC: ${mac}`);
  }
  const hex = mac.toString(16).padStart(12, "0");
  return hex.match(/../g)!.join(":");
}

/** The MAC from its high 16 bits and low 32 bits. */
export function macFromParts(hi16: number, lo32: number): number {
  return (hi16 & 0xffff) * TWO_32 + (lo32 >>> 0);
}

/** High 16 bits of a MAC (the first two octets). */
export function macHi16(mac: number): number {
  return Math.floor(mac / TWO_32) & 0xffff;
}

/** Low 32 bits of a MAC (the last four octets), as an unsigned number. */
export function macLo32(mac: number): number {
  return (mac % TWO_32) >>> 0;
}

/** True for a group address (I/G bit of the first octet set); broadcast is one too. */
export function macIsMulticast(mac: number): boolean {
  return (Math.floor(mac / 0x100_0000_0000) & 1) === 1;
}

/** True for ff:ff:ff:ff:ff:ff. */
export function macIsBroadcast(mac: number): boolean {
  return mac === MAC_BROADCAST;
}
