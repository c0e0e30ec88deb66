// The `lifeline` command line (docs/reference.md): run, check-config, lab, bench. Usage errors exit
// 2. Only `run` and `check-config` are loaded at start-up; every other command is imported when it
// is called, so that the firmware's first probe is not kept waiting (docs/reference.md, start-up).
// The flags each command takes are in one table (cli/commands.ts): the arguments are checked
// against it before the command runs, and --help is written from it.

import { configNotes } from '../config/validate';
import { loadConfig, type ConfigPaths } from '../appliance/config-files';
import { run } from '../appliance/run';
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

/**
 * The flags of `args` that take a value, each at most once and only those in `allowed`, and the
 * operands: null when the arguments are not that.
 */
function flagValues(
  args: readonly string[],
  allowed: readonly string[],
): { flags: Map<string, string>; operands: string[] } | null {
  const flags = new Map<string, string>();
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) operands.push(arg);
    else if (!allowed.includes(arg) || flags.has(arg) || args[i + 1] === undefined) return null;
    else flags.set(arg, args[++i]!);
  }
  return { flags, operands };
}

/** Where the config is, from --config FILE (or the one operand FILE) and --config-dir DIR. */
function configPaths(parsed: { flags: Map<string, string>; operands: string[] }): ConfigPaths {
  return {
    file: parsed.flags.get('--config') ?? parsed.operands[0]!,
    dir: parsed.flags.get('--config-dir') ?? null,
  };
}

function checkConfig(args: readonly string[]): number {
  const parsed = flagValues(args, ['--config', '--config-dir']);
  const files =
    parsed === null ? -1 : parsed.operands.length + (parsed.flags.has('--config') ? 1 : 0);
  if (parsed === null || files !== 1)
    return usageError('check-config takes one FILE (or --config FILE) [--config-dir DIR]');
  const loaded = loadConfig(configPaths(parsed));
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  if (loaded.config === null) return 2;
  // Notes are not problems: the config is valid and the exit code says so.
  for (const line of [...loaded.notes, ...configNotes(loaded.config)])
    process.stdout.write(line + '\n');
  return 0;
}

/** `lifeline reload`: validates, then signals the running lifeline (appliance/reload.ts). */
async function reloadCommand(args: readonly string[]): Promise<number> {
  const parsed = flagValues(args, ['--config', '--config-dir', '--pid']);
  if (parsed === null || parsed.operands.length > 0 || !parsed.flags.has('--config'))
    return usageError('reload takes --config FILE [--config-dir DIR] [--pid PID]');
  const loaded = loadConfig(configPaths(parsed));
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  if (loaded.config === null) return 2;
  const given = parsed.flags.get('--pid');
  const stateDir = loaded.config.stateDir;
  const { lockHolderPid } = await import('../appliance/state-lock');
  const pid = given !== undefined ? Number(given) : stateDir === null ? 0 : lockHolderPid(stateDir);
  if (!(pid > 0)) {
    process.stderr.write('lifeline reload: no running lifeline (give --pid, or a stateDir)\n');
    return 1;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (error) {
    process.stderr.write('lifeline reload: pid ' + pid + ': ' + (error as Error).message + '\n');
    return 1;
  }
  return 0;
}

function runCommand(args: readonly string[]): number | null {
  const parsed = flagValues(args, ['--config', '--config-dir', '--console']);
  if (parsed === null || parsed.operands.length > 0 || !parsed.flags.has('--config'))
    return usageError('run takes --config FILE [--config-dir DIR] [--console stdio|DEVICE]');
  const loaded = loadConfig(configPaths(parsed));
  if (loaded.config === null) {
    for (const line of loaded.errors) process.stderr.write(line + '\n');
    return 2;
  }
  try {
    run(loaded.config, parsed.flags.get('--console') ?? null, configPaths(parsed));
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
  const entry = findCommand(command);
  if (entry === undefined) return usageError('unknown command "' + command + '"');
  if (args.indexOf('--help') >= 0) {
    process.stdout.write(commandHelp(entry));
    return 0;
  }
  const problem = checkArgs(entry, args);
  if (problem !== null) return usageError(problem, entry);
  if (command === 'check-config') return checkConfig(args);
  if (command === 'run') return runCommand(args);
  if (command === 'reload') return reloadCommand(args);
  if (command === 'lab') return (await import('../lab/lab')).lab(args);
  if (command === 'fleet') return (await import('../operator/fleet')).fleet(args);
  if (command === 'keygen') return (await import('../operator/keygen')).keygen(args);
  if (command === 'install') return (await import('../operator/install')).install(args);
  if (command === 'flash') return (await import('../operator/flash')).flash(args);
  if (command === 'uninstall') return (await import('../operator/install')).uninstall(args);
  if (command === 'console')
    return (await import('../operator/console-client')).consoleClient(args);
  const { bench } = await import('../bench/suite');
  return bench(args);
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
