/** Test support for the commands: run one with its output captured, and a loopback port nobody serves. */

export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

/** The output streams every command's io takes. */
interface Streams {
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** Runs `command` with `args` and `io`, capturing what it writes to out and err. */
export async function captureCommand<Io extends Streams>(
  command: (args: string[], io: Io) => Promise<number>,
  args: string[],
  io: Omit<Io, keyof Streams>,
): Promise<CommandRun> {
  let out = "";
  let err = "";
  const streams: Streams = { out: (t) => out += t, err: (t) => err += t };
  const code = await command(args, { ...io, ...streams } as Io);
  return { code, out, err };
}

/** A loopback TCP port that was free a moment ago (nothing listens on it). */
export function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
