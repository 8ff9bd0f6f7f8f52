/**
 * Summaries of repeated measurements: medians over rounds and the ratios the
 * table prints. Missing samples (a failed measurement) are `null` and are left
 * out; a summary of nothing is `null`, never NaN.
 */

/** Median of the non-null, finite values; `null` when there are none. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v)).sort((a, b) =>
    a - b
  );
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** a / b, or `null` when either is missing or b is not positive. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (typeof a !== "number" || typeof b !== "number" || !Number.isFinite(a) || !Number.isFinite(b)) {
    return null;
  }
  if (b <= 0) return null;
  return a / b;
}

/** Mean of two values, or the one that is present, or `null`. */
export function mean2(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return (a + b) / 2;
}
