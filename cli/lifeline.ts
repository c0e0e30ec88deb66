// The `lifeline` command line (docs/reference.md): run, check-config, lab, bench. Usage errors exit
// 2. Only `run` and `check-config` are loaded at start-up; every other command is imported when it
// is called, so that the firmware's first probe is not kept waiting (docs/reference.md, start-up).

import { configNotes } from '../config/validate';
import { loadConfig, run } from '../appliance/run';

const USAGE = `usage: lifeline COMMAND [OPTIONS]

commands:
  run --config FILE [--console stdio|DEVICE]
                           run the firmware on this Linux host
                           (SIGTERM/SIGINT: clean shutdown, exit 0)
  check-config FILE [--board CLASS]
                           validate a config: nothing and exit 0 when valid,
                           one PATH: PROBLEM line per problem on stderr and exit 2 when not
  console DEVICE [--key-file F | --code C] [--exec "COMMAND"]...
                           the operator's client for the serial console
  keygen --key-file F --codes-file F [--codes N]
                           make the console key and one-time recovery codes
  flash DEVICE [--config FILE]
                           upload the Espruino build to a board and verify it
  install [--root DIR] / uninstall [--purge]
                           lay out (or remove) an unpacked release on this appliance
  fleet --prometheus URL | --targets HOST:PORT,...
                           one line per appliance and service, from Prometheus or scraped
  lab [--scenario outage|fleet]
                           the self-contained lab on loopback (npm start)
  bench [--json FILE] [--device DEVICE] | bench compare OLD NEW
                           the latency benchmarks on this device (or a board);
                           two results side by side

Every command takes --help.
`;

const HELP: { readonly [command: string]: string } = {
  run:
    'usage: lifeline run --config FILE [--console stdio|DEVICE]\n' +
    '  Runs the firmware. With announcer.kind "exabgp", stdout carries only ExaBGP API lines.\n' +
    '  --console: the serial console on DEVICE (default: console.device), or on stdio.\n',
  'check-config':
    'usage: lifeline check-config FILE [--board pico|stm32f4|esp8266|esp32|m4]\n' +
    '  Exit 0 when valid; exit 2 with one PATH: PROBLEM line per problem.\n' +
    '  --board: also what that Espruino board cannot do, and a warning when a probe round\n' +
    '  would take more than half the probe interval of its CPU (docs/benchmarks.md).\n',
  console:
    'usage: lifeline console DEVICE [--key-file F | --code C] [--baud N] [--exec "COMMAND"]...\n' +
    '  Authenticates (HMAC with the key, or a recovery code), then runs each --exec command\n' +
    '  (exit 0 when all were OK) or gives an interactive prompt (quit to leave).\n',
  keygen:
    'usage: lifeline keygen --key-file F --codes-file F [--codes N] [--force]\n' +
    '  Writes the device key (mode 0600) and N recovery codes, hashed; prints the codes once.\n',
  flash:
    'usage: lifeline flash DEVICE [--config FILE] [--baud N]\n' +
    '  Uploads the Espruino build (built with FILE embedded) to the board and verifies it.\n',
  install:
    'usage: lifeline install [--prefix /opt/lifeline] [--root DIR]\n' +
    '  From an unpacked release: program, config (kept if present), state dir, systemd unit.\n',
  uninstall:
    'usage: lifeline uninstall [--prefix /opt/lifeline] [--root DIR] [--purge]\n' +
    '  Removes the program and the unit; --purge also the config and the state.\n',
  fleet:
    'usage: lifeline fleet (--prometheus URL | --targets HOST:PORT,...) [--interval S]\n' +
    '                      [--once]\n' +
    '  One line per appliance and service: routes, automatic state, override, guard, BGP, last\n' +
    '  transition and its reason. In a terminal it refreshes every S seconds (2); piped, or\n' +
    '  with --once, it prints once. Exit 1 when Prometheus cannot be read; with --once also\n' +
    '  when an appliance is unreachable (one line each on stderr), for cron and monitoring.\n',
  lab:
    'usage: lifeline lab [--scenario outage|fleet]\n' +
    '  Replays a backbone cut and its recovery on loopback; exit 0 when every step happened.\n' +
    '  fleet: the cut on three sites (lifeline run processes) and a BIRD 2 route server, the\n' +
    '  fleet guard off and then on (needs /usr/sbin/bird).\n',
  bench:
    'usage: lifeline bench [--json FILE] [--device DEVICE]\n' +
    '       lifeline bench compare OLD.json NEW.json\n' +
    '  Runs the latency benchmarks; prints a table and writes JSON (default bench/results/)\n' +
    '  that says what produced it. compare: each figure of two results side by side, with\n' +
    '  the ratio, marking the changes beyond the noise the runs measured.\n',
};

function usageError(text: string): number {
  process.stderr.write('lifeline: ' + text + '\n' + USAGE);
  return 2;
}

async function checkConfig(args: readonly string[]): Promise<number> {
  const boardIndex = args.indexOf('--board');
  const board = boardIndex >= 0 ? args[boardIndex + 1] : undefined;
  const files = args.filter((_, i) => boardIndex < 0 || (i !== boardIndex && i !== boardIndex + 1));
  if (files.length !== 1 || files[0]!.startsWith('-') || (boardIndex >= 0 && board === undefined))
    return usageError('check-config takes exactly one FILE [--board CLASS]');
  const duty = board === undefined ? null : await import('../config/duty');
  const boardClass = duty === null ? null : duty.BOARD_CLASSES[board!];
  if (duty !== null && boardClass === undefined)
    return usageError(
      'check-config --board takes one of ' + Object.keys(duty.BOARD_CLASSES).join(', '),
    );
  const loaded = loadConfig(files[0]!);
  for (const line of loaded.errors) process.stderr.write(line + '\n');
  if (loaded.config === null) return 2;
  if (duty !== null) {
    // For a board, what a board cannot do is a problem too, as `flash --config` says.
    const problems = (await import('../config/board')).espruinoProblems(loaded.config);
    for (const line of problems) process.stderr.write(line + '\n');
    if (problems.length > 0) return 2;
    const cycle = duty.dutyCycle(loaded.config, boardClass!.factor);
    const warning = duty.dutyCycleWarning(cycle, boardClass!.name);
    if (warning !== null) process.stdout.write(warning + '\n');
  }
  // Notes are not problems: the config is valid and the exit code says so.
  for (const line of configNotes(loaded.config)) process.stdout.write(line + '\n');
  return 0;
}

function runCommand(args: readonly string[]): number | null {
  const configIndex = args.indexOf('--config');
  const consoleIndex = args.indexOf('--console');
  const expected = 2 + (consoleIndex >= 0 ? 2 : 0);
  if (
    configIndex < 0 ||
    args[configIndex + 1] === undefined ||
    args.length !== expected ||
    (consoleIndex >= 0 && args[consoleIndex + 1] === undefined)
  ) {
    return usageError('run takes --config FILE [--console stdio|DEVICE]');
  }
  const loaded = loadConfig(args[configIndex + 1]!);
  if (loaded.config === null) {
    for (const line of loaded.errors) process.stderr.write(line + '\n');
    return 2;
  }
  try {
    run(loaded.config, consoleIndex >= 0 ? args[consoleIndex + 1]! : null);
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
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (HELP[command] === undefined) return usageError('unknown command "' + command + '"');
  if (args.indexOf('--help') >= 0) {
    process.stdout.write(HELP[command]!);
    return 0;
  }
  if (command === 'check-config') return await checkConfig(args);
  if (command === 'run') return runCommand(args);
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
