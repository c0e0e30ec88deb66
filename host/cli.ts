// The `lifeline` command line (SPEC.md): run, check-config, lab, bench. Usage errors exit 2.

import { lab } from './lab';
import { loadConfig, run } from './run';

const USAGE = `usage: lifeline COMMAND [OPTIONS]

commands:
  run --config FILE        run the firmware on this Linux host
                           (SIGTERM/SIGINT: clean shutdown, exit 0)
  check-config FILE        validate a config: nothing and exit 0 when valid,
                           one PATH: PROBLEM line per problem on stderr and exit 2 when not
  lab [--scenario outage]  the self-contained lab on loopback (npm start)
  bench [--json FILE]      the latency benchmarks on this device

Every command takes --help.
`;

const HELP: { readonly [command: string]: string } = {
  run:
    'usage: lifeline run --config FILE\n' +
    '  Runs the firmware. With announcer.kind "exabgp", stdout carries only ExaBGP API lines.\n',
  'check-config':
    'usage: lifeline check-config FILE\n' +
    '  Exit 0 when valid; exit 2 with one PATH: PROBLEM line per problem.\n',
  lab:
    'usage: lifeline lab [--scenario outage]\n' +
    '  Replays a backbone cut and its recovery on loopback; exit 0 when every step happened.\n',
  bench:
    'usage: lifeline bench [--json FILE]\n' +
    '  Runs the latency benchmarks; prints a table and writes JSON (default bench/results/).\n',
};

function usageError(text: string): number {
  process.stderr.write('lifeline: ' + text + '\n' + USAGE);
  return 2;
}

function checkConfig(args: readonly string[]): number {
  if (args.length !== 1 || args[0]!.startsWith('-'))
    return usageError('check-config takes exactly one FILE');
  const loaded = loadConfig(args[0]!);
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  return loaded.config === null ? 2 : 0;
}

function runCommand(args: readonly string[]): number | null {
  if (args.length !== 2 || args[0] !== '--config') return usageError('run takes --config FILE');
  const loaded = loadConfig(args[1]!);
  if (loaded.config === null) {
    for (const line of loaded.errors) process.stderr.write(line + '\n');
    return 2;
  }
  run(loaded.config);
  return null;
}

async function main(argv: readonly string[]): Promise<number | null> {
  const command = argv[0];
  const args = argv.slice(1);
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (HELP[command] === undefined) return usageError('unknown command "' + command + '"');
  if (args.indexOf('--help') >= 0) {
    process.stdout.write(HELP[command]!);
    return 0;
  }
  if (command === 'check-config') return checkConfig(args);
  if (command === 'run') return runCommand(args);
  if (command === 'lab') return lab(args);
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
