// The `lifeline` command line (docs/reference.md): run, check-config, lab, bench. Usage errors exit
// 2. Only the appliance's commands (run, check-config, reload) are loaded at start-up; the others
// (cli/tools.ts) are a bundle of their own, imported when one of them is called, so that the
// firmware's first probe is not kept waiting (docs/reference.md, start-up).
// The flags each command takes are in one table (cli/commands.ts): the arguments are checked
// against it before the command runs, and --help is written from it.

import { loadConfig } from '../appliance/config-files';
import { run } from '../appliance/run';
import { checkConfig } from './check-config';
import { configPaths, flagValues } from './config-args';
import { reloadCommand } from './reload';
import { checkArgs, commandHelp, findCommand, usage, type Command } from './commands';

/** What the build writes in (build/targets.mjs); absent when the sources run unbundled. */
declare const LIFELINE_VERSION: string | undefined;
declare const LIFELINE_COMMIT: string | undefined;
declare const LIFELINE_BUILT: string | undefined;
declare const LIFELINE_NODE_TARGET: string | undefined;

/** `lifeline --version`: the release, the commit and the date it was built from, the target. */
export function versionText(): string {
  const known = (value: string | undefined): string => value ?? 'unknown (not built)';
  return (
    'lifeline ' +
    known(typeof LIFELINE_VERSION === 'string' ? LIFELINE_VERSION : undefined) +
    '\ncommit ' +
    known(typeof LIFELINE_COMMIT === 'string' ? LIFELINE_COMMIT : undefined) +
    '\nbuilt ' +
    known(typeof LIFELINE_BUILT === 'string' ? LIFELINE_BUILT : undefined) +
    '\ntarget node (built for ' +
    known(typeof LIFELINE_NODE_TARGET === 'string' ? LIFELINE_NODE_TARGET : undefined) +
    ' or later; running on Node ' +
    process.versions.node +
    ')\n'
  );
}

function usageError(text: string, command?: Command): number {
  process.stderr.write(
    command === undefined
      ? 'lifeline: ' + text + '\n' + usage()
      : 'lifeline ' + command.name + ': ' + text + '\n' + commandHelp(command),
  );
  return 2;
}

function runCommand(args: readonly string[]): number | null {
  const parsed = flagValues(args, ['--config', '--config-dir', '--console']);
  const paths = configPaths(parsed, '--config', '--config-dir');
  if (paths === null || parsed.operands.length > 0)
    return usageError('run takes --config FILE [--config-dir DIR] [--console stdio|DEVICE]');
  const loaded = loadConfig(paths);
  if (loaded.config === null) {
    for (const line of loaded.errors) process.stderr.write(line + '\n');
    return 2;
  }
  try {
    run(loaded.config, parsed.flags.get('--console') ?? null, paths);
  } catch (error) {
    // Half started is the worst state: alive, so nobody restarts it, but without a loop, signal
    // handlers or readiness. Exit, so that systemd (Restart=always) starts it again.
    process.stderr.write('lifeline run: cannot start: ' + String(error).split('\n')[0] + '\n');
    process.exit(1);
  }
  return null;
}

async function main(argv: readonly string[]): Promise<number | null> {
  const command = argv[0];
  const args = argv.slice(1);
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(versionText());
    return 0;
  }
  // `bench compare OLD NEW`: a subcommand with two operands, which checks its own.
  if (command === 'bench' && args[0] === 'compare' && args.indexOf('--help') < 0)
    return (await import('./tools')).compare(args.slice(1));
  const entry = findCommand(command);
  if (entry === undefined) return usageError('unknown command "' + command + '"');
  if (args.indexOf('--help') >= 0) {
    process.stdout.write(commandHelp(entry));
    return 0;
  }
  const problem = checkArgs(entry, args);
  if (problem !== null) return usageError(problem, entry);
  if (command === 'check-config') return await checkConfig(args, usageError);
  if (command === 'run') return runCommand(args);
  if (command === 'reload') return reloadCommand(args, usageError);
  const tools = await import('./tools');
  if (command === 'lab') return tools.lab(args);
  if (command === 'fleet') return tools.fleet(args);
  if (command === 'keygen') return tools.keygen(args);
  if (command === 'install') return tools.install(args);
  if (command === 'flash') return tools.flash(args);
  if (command === 'uninstall') return tools.uninstall(args);
  if (command === 'console') return tools.consoleClient(args);
  return tools.bench(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write('lifeline: ' + ((error as Error).stack ?? String(error)) + '\n');
    process.exitCode = 1;
  },
);
