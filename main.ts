/**
 * Composition root: parse the command line, hand off to the command. Exit codes:
 * 0 success (also after SIGINT/SIGTERM cleanup), 1 runtime failure, 2 usage or
 * configuration error (one line on stderr).
 */
import { parseCommandLine, USAGE, UsageError } from "./src/cli/args.ts";
import { runClientAdmin } from "./src/cli/client_admin.ts";
import { runClientCommand } from "./src/cli/client.ts";
import { runImport } from "./src/cli/import.ts";
import { runPki } from "./src/cli/pki.ts";
import { runServerCommand } from "./src/cli/server.ts";
import { runStatus } from "./src/cli/status.ts";
import { VERSION } from "./src/version.ts";

async function main(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`tsvpn: ${err.message}`);
      return 2;
    }
    throw err;
  }
  switch (command.kind) {
    case "help":
      console.log(USAGE);
      return 0;
    case "version":
      console.log(`tsvpn ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch})`);
      return 0;
    case "server":
      return await runServerCommand(command);
    case "client":
      return await runClientCommand(command);
    case "sub":
      if (command.name === "pki") return await runPki(command.args);
      if (command.name === "import") return await runImport(command.args);
      if (command.name === "status") return await runStatus(command.args);
      return await runClientAdmin(command.args);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
