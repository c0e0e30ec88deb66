// The command line's one table: every command with its operand and every flag it takes. The parser
// (`checkArgs`), `--help` (`commandHelp`, `usage`) and the man page (built from `--help` by
// build/manpage.mjs) all come from it, so that a flag cannot be taken without being listed;
// test/integration/cli-help.test.ts checks the table against the flags each command's code reads.

export interface Flag {
  /** `--name`. */
  readonly name: string;
  /** What follows it (`FILE`), or absent for a switch. */
  readonly value?: string;
  /** May be given more than once (`--exec`). */
  readonly repeat?: boolean;
  readonly required?: boolean;
  readonly help: string;
}

export interface Command {
  readonly name: string;
  /** The one positional operand (`FILE`, `DEVICE`), if the command takes one. */
  readonly operand?: string;
  /** The operand may be left out (`flash --output`). */
  readonly operandOptional?: boolean;
  readonly summary: string;
  readonly flags: readonly Flag[];
  /** What the usage line cannot say: choices between flags, what the exit code means. */
  readonly details: string;
}

const CONFIG_DIR: Flag = {
  name: '--config-dir',
  value: 'DIR',
  help: 'DIR/*.json: one service each, in name order after those of the config',
};
const BAUD: Flag = { name: '--baud', value: 'N', help: "the serial line's speed (115200)" };
const ROOT: Flag = { name: '--root', value: 'DIR', help: 'work in a tree instead of / (an image)' };
const PREFIX: Flag = {
  name: '--prefix',
  value: '/PATH',
  help: 'the program directory (/opt/lifeline)',
};

export const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    summary: 'run the firmware on this Linux host (SIGTERM/SIGINT: clean shutdown, exit 0)',
    flags: [
      { name: '--config', value: 'FILE', required: true, help: 'the config (JSON)' },
      CONFIG_DIR,
      {
        name: '--console',
        value: 'stdio|DEVICE',
        help: 'the serial console on DEVICE (default: console.device), or on stdio',
      },
    ],
    details:
      'With announcer.kind "exabgp", stdout carries only ExaBGP API lines. Under systemd, a\n' +
      'stop while $RUNTIME_DIRECTORY/restarting is fresh is a restart: with graceful restart\n' +
      'configured the routes are left to the routers (docs/install.md, upgrades).\n',
  },
  {
    name: 'check-config',
    operand: 'FILE',
    operandOptional: true,
    summary: 'validate a config',
    flags: [
      { name: '--config', value: 'FILE', help: 'the config, instead of FILE' },
      CONFIG_DIR,
      {
        name: '--board',
        value: 'pico|stm32f4|esp8266|esp32|m4',
        help: 'for that Espruino board: what it cannot do, and its duty cycle',
      },
    ],
    details:
      'Exit 0 when valid; exit 2 with one PATH: PROBLEM line per problem on stderr (FILE: PATH:\n' +
      'PROBLEM with --config-dir). With --board, also what that board cannot do (an exec\n' +
      'target, ...: exit 2), and a warning on stdout when a probe round would take more than\n' +
      'half the probe interval of its CPU (docs/benchmarks.md). Notes (not problems) on stdout.\n',
  },
  {
    name: 'reload',
    summary: 'validate the config, then have the running lifeline apply it',
    flags: [
      { name: '--config', value: 'FILE', required: true, help: 'the config (JSON), as run has it' },
      CONFIG_DIR,
      {
        name: '--pid',
        value: 'PID',
        help: 'the lifeline run to signal (default: the one holding the stateDir lock)',
      },
    ],
    details:
      'Validates the config as check-config does (exit 2 with its problems), then sends SIGHUP\n' +
      'to the running lifeline (exit 1 when there is none): it reads the same files again and\n' +
      "applies them between rounds, without a flap. The unit's ExecReload runs it.\n",
  },
  {
    name: 'console',
    operand: 'DEVICE',
    summary: "the operator's client for the serial console",
    flags: [
      { name: '--key-file', value: 'F', help: 'authenticate with the device key in F (HMAC)' },
      { name: '--code', value: 'C', help: 'authenticate with the one-time recovery code C' },
      BAUD,
      { name: '--exec', value: 'COMMAND', repeat: true, help: 'run COMMAND, then leave' },
    ],
    details:
      'Authenticates, then runs each --exec command (exit 0 when all were OK) or gives an\n' +
      'interactive prompt (quit to leave).\n',
  },
  {
    name: 'keygen',
    summary: 'make the console key and one-time recovery codes',
    flags: [
      { name: '--key-file', value: 'F', required: true, help: 'where the device key goes' },
      { name: '--codes-file', value: 'F', required: true, help: "where the codes' hashes go" },
      { name: '--codes', value: 'N', help: 'how many recovery codes (10, at most 100)' },
      { name: '--force', help: 'replace existing files' },
    ],
    details:
      "Writes the device key (mode 0600, or 0640 in a setgid directory such as the package's\n" +
      "/etc/lifeline, so that the service's group reads it) and N recovery codes, hashed;\n" +
      'prints the codes once.\n',
  },
  {
    name: 'flash',
    operand: 'DEVICE',
    operandOptional: true,
    summary: 'put the Espruino build on a board and verify it',
    flags: [
      { name: '--config', value: 'FILE', help: 'build the board bundle with FILE embedded' },
      { name: '--bundle', value: 'FILE', help: 'flash a bundle built before' },
      { name: '--output', value: 'FILE', help: 'write the bundle to FILE instead (no DEVICE)' },
      BAUD,
    ],
    details:
      'Without --config or --bundle, the example bundle built with the program. The board\n' +
      'build runs anywhere the package is installed (its board kit), or in the development tree.\n',
  },
  {
    name: 'install',
    summary: 'lay out an unpacked release tarball on this appliance',
    flags: [PREFIX, ROOT],
    details:
      'From an unpacked release: program, config (kept if present), state dir, systemd unit.\n' +
      'The Debian package is the usual way (docs/install.md).\n',
  },
  {
    name: 'uninstall',
    summary: 'remove what install laid out',
    flags: [PREFIX, ROOT, { name: '--purge', help: 'remove the config and the state too' }],
    details: 'Removes the program and the unit; --purge also the config and the state.\n',
  },
  {
    name: 'fleet',
    summary: 'one line per appliance and service, from Prometheus or scraped',
    flags: [
      { name: '--prometheus', value: 'URL', help: 'read the metrics from Prometheus at URL' },
      { name: '--targets', value: 'HOST:PORT,...', help: "scrape these appliances' metrics" },
      { name: '--interval', value: 'S', help: 'refresh every S seconds in a terminal (2)' },
      { name: '--once', help: 'print once and exit' },
    ],
    details:
      'Give --prometheus or --targets. One line per appliance and service: routes, automatic\n' +
      'state, override, guard, BGP, last transition and its reason. Piped, or with --once, it\n' +
      'prints once. Exit 1 when Prometheus cannot be read; with --once also when an appliance\n' +
      'is unreachable (one line each on stderr), for cron and monitoring.\n',
  },
  {
    name: 'lab',
    summary: 'the self-contained lab on loopback (npm start)',
    flags: [{ name: '--scenario', value: 'outage|fleet', help: 'play a scenario unattended' }],
    details:
      'Replays a backbone cut and its recovery on loopback; exit 0 when every step happened.\n' +
      'fleet: the cut on three sites (lifeline run processes) and a BIRD 2 route server, the\n' +
      'fleet guard off and then on (needs /usr/sbin/bird).\n',
  },
  {
    name: 'bench',
    summary: 'the latency benchmarks on this device, or on an Espruino board',
    flags: [
      {
        name: '--json',
        value: 'FILE',
        help: 'write the figures there (default bench/results/ in the repository)',
      },
      { name: '--device', value: 'DEVICE', help: 'run the on-board bench of a flashed board' },
      { name: '--node-alloc-child', help: "internal: the allocation measurement's own child" },
    ],
    details:
      'Runs the latency benchmarks; prints a table and writes JSON that says what produced it.\n' +
      '`lifeline bench compare OLD.json NEW.json`: each figure of two results side by\n' +
      'side, with the ratio, marking the changes beyond the noise the runs measured (exit 1:\n' +
      'a file cannot be read).\n',
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** `lifeline NAME OPERAND [--flag VALUE]...`, every flag of the command. */
export function usageLine(command: Command): string {
  const parts = ['lifeline', command.name];
  if (command.operand !== undefined)
    parts.push(command.operandOptional ? '[' + command.operand + ']' : command.operand);
  for (const flag of command.flags) {
    const text = flag.name + (flag.value === undefined ? '' : ' ' + flag.value);
    parts.push((flag.required ? text : '[' + text + ']') + (flag.repeat ? '...' : ''));
  }
  return parts.join(' ');
}

/** `lifeline COMMAND --help`. */
export function commandHelp(command: Command): string {
  const width = Math.max(
    0,
    ...command.flags.map((flag) => (flag.name + ' ' + (flag.value ?? '')).length),
  );
  const flags = command.flags.map(
    (flag) => '  ' + (flag.name + ' ' + (flag.value ?? '')).padEnd(width + 2) + flag.help + '\n',
  );
  return (
    'usage: ' +
    usageLine(command) +
    '\n  ' +
    command.summary[0]!.toUpperCase() +
    command.summary.slice(1) +
    '.\n' +
    flags.join('') +
    command.details.replace(/^(?=.)/gm, '  ')
  );
}

/** `lifeline --help`: every command with every flag. */
export function usage(): string {
  return (
    'usage: lifeline COMMAND [OPTIONS]\n       lifeline --version\n\ncommands:\n' +
    COMMANDS.map((command) => '  ' + usageLine(command) + '\n      ' + command.summary + '\n').join(
      '',
    ) +
    '\nEvery command takes --help.\n'
  );
}

/**
 * What is wrong with `args` for `command` by the table (an unknown flag, a flag without its
 * value, a flag twice, a missing operand or required flag), or null. What the values mean is the
 * command's own business.
 */
export function checkArgs(command: Command, args: readonly string[]): string | null {
  const seen = new Set<string>();
  let operands = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      operands++;
      continue;
    }
    const flag = command.flags.find((candidate) => candidate.name === arg);
    if (flag === undefined) return 'unknown flag ' + arg;
    if (seen.has(arg) && !flag.repeat) return arg + ' given twice';
    seen.add(arg);
    if (flag.value === undefined) continue;
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) return arg + ' needs a value';
  }
  const wanted = command.operand === undefined ? 0 : 1;
  if (operands > wanted)
    return wanted === 0 ? 'takes no operand' : 'takes one ' + command.operand + ' only';
  if (operands < wanted && !command.operandOptional) return command.operand + ' is required';
  for (const flag of command.flags)
    if (flag.required && !seen.has(flag.name)) return flag.name + ' is required';
  return null;
}
