/**
 * The first look at a server's PUSH_REPLY, on the option lines as received
 * (before any is parsed or acted on, the pushed cipher included):
 *
 *   1. pull_filter, with OpenVPN's `pull-filter` semantics: the rules are
 *      checked in order, `text` against the start of the option line
 *      (case-sensitive, nothing unquoted); the first match decides: accept
 *      keeps the option, ignore drops it, reject fails the whole push (the
 *      connection attempt ends and the client reconnects, OpenVPN's SIGUSR1
 *      restart). An option no rule matches is accepted.
 *   2. A line carrying a control character (0x00-0x1f other than TAB, 0x7f)
 *      is dropped whole. Outside quotes such characters only separate words,
 *      so one left in a line sits inside a quoted value, where it could end a
 *      line of resolv.conf or a log, or reach a script's environment. No
 *      honest server pushes one, so the option is refused rather than
 *      repaired (OpenVPN rewrites such characters; a repaired value is still
 *      one the server chose for us).
 */

import type { PullFilterRule } from "../config/schema.ts";

export type ScreenResult =
  | {
    kind: "accepted";
    options: string[];
    /** Options a pull_filter ignore rule dropped (OpenVPN drops them silently; worth a debug line). */
    ignored: string[];
    /** One line per option refused as unsafe, for the log. */
    warnings: string[];
  }
  | { kind: "rejected"; reason: string };

/** True when `text` holds a control character (0x00-0x1f, 0x7f); TAB too unless `tabAllowed`. */
export function hasControlChar(text: string, tabAllowed = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && !(tabAllowed && c === 0x09)) || c === 0x7f) return true;
  }
  return false;
}

/**
 * Pushed text for a log line: quoted, with every control character escaped
 * (JSON.stringify leaves DEL, C1 controls and the Unicode line separators).
 */
export function quotePushed(text: string): string {
  return JSON.stringify(text).replace(
    /[\x7f-\x9f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The first rule whose text starts `option`, or null. */
export function matchPullFilter(rules: readonly PullFilterRule[], option: string): PullFilterRule | null {
  for (const rule of rules) if (option.startsWith(rule.text)) return rule;
  return null;
}

/** Filters and screens one complete PUSH_REPLY's option lines (push-continuation markers removed). */
export function screenPushOptions(
  rules: readonly PullFilterRule[],
  options: readonly string[],
): ScreenResult {
  const kept: string[] = [];
  const ignored: string[] = [];
  const warnings: string[] = [];
  for (const option of options) {
    const rule = matchPullFilter(rules, option);
    if (rule?.action === "reject") {
      return {
        kind: "rejected",
        reason: `pushed option ${quotePushed(option)} rejected by pull_filter reject ${
          quotePushed(rule.text)
        }`,
      };
    }
    if (rule?.action === "ignore") {
      ignored.push(option);
      continue;
    }
    if (hasControlChar(option, true)) {
      warnings.push(`Ignoring pushed option ${quotePushed(option)}: it contains a control character`);
      continue;
    }
    kept.push(option);
  }
  return { kind: "accepted", options: kept, ignored, warnings };
}
