/**
 * Child of sigusr1_inspector_test.ts, run inside a lab namespace:
 *   sigusr1_child.ts guarded|bare READY_FILE
 * Listens for SIGUSR1 (printing "SIGUSR1 n" per signal, as tsvpn's client
 * does) and, when "guarded", runs the InspectorGuard as tsvpn does. Then
 * writes READY_FILE (a SIGUSR1 before the listener would end the process)
 * and lives until killed (at most 60 s).
 */
import { Logger } from "../../src/log/log.ts";
import { InspectorGuard } from "../../src/process/inspector_guard.ts";

let count = 0;
Deno.addSignalListener("SIGUSR1", () => console.log(`SIGUSR1 ${++count}`));
if (Deno.args[0] === "guarded") new InspectorGuard({ log: new Logger({ level: "info" }) });
await Deno.writeTextFile(Deno.args[1], "ready\n");
setTimeout(() => Deno.exit(0), 60_000);
