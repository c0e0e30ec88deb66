// The man page, lifeline(1), written from the built program's own --help (cli/commands.ts is the
// one table of commands and flags), so that it cannot say less than --help: the package installs
// it gzipped in /usr/share/man/man1.

import { spawnSync } from 'node:child_process';

/** roff text: backslashes doubled, hyphens as minus signs, a leading dot or quote escaped. */
function roff(line) {
  return line
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/, '\\&$1');
}

/** `lifeline ARGS` from `program` (dist/lifeline.mjs), its stdout. */
function help(program, ...args) {
  const result = spawnSync(process.execPath, [program, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error('lifeline ' + args.join(' ') + ': ' + result.stderr);
  return result.stdout;
}

const FILES = [
  [
    '/etc/lifeline/config.json',
    'the config (a conffile: an upgrade never overwrites an edited one)',
  ],
  ['/etc/lifeline/console.key, /etc/lifeline/recovery-codes', 'made by lifeline keygen'],
  [
    '/var/lib/lifeline',
    'the state: overrides.json, recovery-used, lockout.json, audit.log (0700, user lifeline)',
  ],
  ['/run/lifeline/restarting', 'the restart marker: this stop is a restart (upgrades)'],
  ['/lib/systemd/system/lifeline.service', 'the unit (Type=notify, with the watchdog)'],
  ['/usr/share/doc/lifeline', 'the README, the guides (docs/) and the examples'],
];

/** The page for `version`, dated `date` (YYYY-MM-DD). */
export function manPage({ program, version, date }) {
  const overall = help(program, '--help');
  const commands = [...overall.matchAll(/^ {2}lifeline ([a-z-]+) /gm)].map((match) => match[1]);
  const lines = [
    '.TH LIFELINE 1 "' + date + '" "lifeline ' + version + '" "Lifeline"',
    '.SH NAME',
    'lifeline \\- anycast DNS health monitor and BGP announcer',
    '.SH SYNOPSIS',
    '.B lifeline',
    '.I COMMAND',
    '.RI [ OPTIONS ]',
    '.br',
    '.B lifeline \\-\\-version',
    '.SH DESCRIPTION',
    "Lifeline probes the data centres (DNS over UDP, TCP connects) and the appliance's own DNS",
    'service, and withdraws the anycast prefixes when the backbone is gone and re\\-announces them',
    'when it is back, with hysteresis. It announces over a built\\-in BGP\\-4 speaker or through',
    'ExaBGP, and keeps a local override path (a serial console, an override pin) with an audit',
    'log. The service runs',
    '.B lifeline run',
    'as the lifeline user under systemd.',
    '.SH COMMANDS',
  ];
  for (const command of commands) {
    const text = help(program, command, '--help').trimEnd().split('\n');
    lines.push('.SS ' + roff(command), '.nf', ...text.map(roff), '.fi');
  }
  lines.push('.SH FILES');
  for (const [path, what] of FILES) lines.push('.TP', '.I ' + roff(path), roff(what));
  lines.push(
    '.SH EXIT STATUS',
    '0 on success; 2 on a usage error or an invalid config; 1 when a command fails (each',
    "command's codes are in the reference).",
    '.SH SEE ALSO',
    '.I /usr/share/doc/lifeline/docs/reference.md',
    '(every command, exit code, config key, console command, state file and metric),',
    '.I /usr/share/doc/lifeline/docs/install.md',
    '(the package, upgrades, the unit).',
  );
  return lines.join('\n') + '\n';
}
