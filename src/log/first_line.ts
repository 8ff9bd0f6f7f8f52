/** The first line of an error's message, for one-line errors and log fields (library and OS messages may run on). */
export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
