/**
 * Composition root: parse the command line, hand off to the command. Exit codes:
 * 0 success (also after SIGINT/SIGTERM cleanup), 1 runtime failure, 2 usage or
 * configuration error (one line on stderr).
 *
 * Each command's module is imported when that command runs: a long-running
 * server or client then never holds the code (and npm packages, such as
 * @peculiar/x509 for the PKI commands) of the others in memory. The
 * specifiers are literals, so `deno compile` still embeds every module.
 */
import { parseCommandLine, USAGE } from "./src/cli/args.ts";
import { UsageError } from "./src/cli/command_io.ts";
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
    case "server": {
      const { runServerCommand } = await import("./src/cli/server.ts");
      return await runServerCommand(command);
    }
    case "client": {
      const { runClientCommand } = await import("./src/cli/client.ts");
      return await runClientCommand(command);
    }
    case "sub":
      if (command.name === "pki") return await (await import("./src/cli/pki.ts")).runPki(command.args);
      if (command.name === "import") {
        return await (await import("./src/cli/import.ts")).runImport(command.args);
      }
      if (command.name === "status") {
        return await (await import("./src/cli/status.ts")).runStatus(command.args);
      }
      return await (await import("./src/cli/client_admin.ts")).runClientAdmin(command.args);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
