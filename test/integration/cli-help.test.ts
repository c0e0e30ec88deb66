// The command line's one table (cli/commands.ts) against the code: every flag a command's code
// reads is in the table, every flag of the table is in `--help` (the command's and the overall
// one), the parser refuses what the table does not have, and `--version` says what was built.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { checkArgs, COMMANDS, findCommand } from '../../cli/commands';

/** Where each command reads its flags. */
const SOURCES: { readonly [command: string]: readonly string[] } = {
  run: ['cli/lifeline.ts'],
  'check-config': ['cli/check-config.ts'],
  reload: ['cli/reload.ts'],
  console: ['operator/console-client.ts'],
  keygen: ['operator/keygen.ts'],
  flash: ['operator/flash.ts'],
  install: ['operator/install.ts'],
  uninstall: ['operator/install.ts'],
  fleet: ['operator/fleet.ts'],
  lab: ['lab/lab.ts'],
  bench: ['bench/suite.ts'],
};

/** Taken by the command line itself, for every command. */
const GLOBAL = ['--help', '--version'];

/** The '--flag' string literals of a file (a literal that is only the flag). */
function flagLiterals(path: string): string[] {
  return [...readFileSync(path, 'utf8').matchAll(/'(--[a-z][a-z0-9-]*)'/g)].map((m) => m[1]!);
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['dist/lifeline.mjs', ...args], { encoding: 'utf8' });
}

describe('the command table', () => {
  it("has every command, and every flag each command's code reads", () => {
    expect(Object.keys(SOURCES).sort()).toEqual(COMMANDS.map((command) => command.name).sort());
    for (const [name, files] of Object.entries(SOURCES)) {
      const table = findCommand(name)!.flags.map((flag) => flag.name);
      // install and uninstall share a file: each takes its own part of what it reads.
      const shared = name === 'install' ? ['--purge'] : [];
      const scanned =
        name === 'run' ? ['--config', '--config-dir', '--console'] : files.flatMap(flagLiterals);
      for (const flag of scanned.filter((f) => !GLOBAL.includes(f) && !shared.includes(f)))
        expect(table, name + ' reads ' + flag).toContain(flag);
    }
    // The run command's own literals in cli/lifeline.ts are exactly its three flags.
    const own = flagLiterals('cli/lifeline.ts').filter((flag) => !GLOBAL.includes(flag));
    expect([...new Set(own)].sort()).toEqual(['--config', '--config-dir', '--console']);
  });

  it('is what --help lists, for each command and overall', () => {
    const overall = cli('--help');
    expect(overall.status).toBe(0);
    for (const command of COMMANDS) {
      const help = cli(command.name, '--help');
      expect(help.status, command.name).toBe(0);
      expect(help.stdout).toMatch(new RegExp('^usage: lifeline ' + command.name + ' '));
      for (const flag of command.flags) {
        expect(help.stdout, command.name + ' --help').toContain(flag.name + ' ');
        expect(overall.stdout, 'lifeline --help: ' + command.name).toMatch(
          new RegExp('lifeline ' + command.name + ' .*' + flag.name),
        );
      }
    }
    // The flags the issue found missing.
    for (const [command, flag] of [
      ['bench', '--device'],
      ['flash', '--bundle'],
      ['flash', '--baud'],
      ['install', '--prefix'],
    ])
      expect(cli(command!, '--help').stdout).toContain(flag!);
  });

  it('refuses what the table does not have, before the command runs (exit 2)', () => {
    const flash = findCommand('flash')!;
    expect(checkArgs(flash, ['/dev/ttyUSB0', '--config', 'c.json'])).toBeNull();
    expect(checkArgs(flash, ['/dev/ttyUSB0', '--frobnicate'])).toBe('unknown flag --frobnicate');
    expect(checkArgs(flash, ['/dev/ttyUSB0', '--config'])).toBe('--config needs a value');
    expect(checkArgs(flash, ['a', 'b'])).toBe('takes one DEVICE only');
    expect(checkArgs(findCommand('console')!, [])).toBe('DEVICE is required');
    expect(checkArgs(findCommand('console')!, ['d', '--exec', 'a', '--exec', 'b'])).toBeNull();
    expect(checkArgs(findCommand('keygen')!, ['--key-file', 'k'])).toBe('--codes-file is required');
    expect(checkArgs(findCommand('run')!, ['--config', 'a', '--config', 'b'])).toBe(
      '--config given twice',
    );
    const refused = cli('flash', '/dev/nonexistent', '--frobnicate');
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^lifeline flash: unknown flag --frobnicate\nusage: /);
  });

  it('--version says the release, the commit, the build date and the target', () => {
    const result = cli('--version');
    expect(result.status).toBe(0);
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('lifeline ' + version);
    expect(lines[1]).toMatch(/^commit ([0-9a-f]{12}(-dirty)?|unknown)$/);
    expect(lines[2]).toMatch(/^built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lines[3]).toMatch(/^target node \(built for node18 or later; running on Node \d+/);
  });
});
