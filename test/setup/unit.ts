// The unit tier's setup, in each of its test files' processes: starting a child process throws,
// unless it is a tool the project's own npm install put in node_modules (esbuild's service, which
// an in-process build starts). A unit test runs on what the repository installs alone (no dist/,
// no Debian tool such as BIRD or mkfifo): a call that would start one fails the test, with the
// reason, instead of passing on the machines that have the tool and failing on those without.

import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { resolve, sep } from 'node:path';

/** The functions of node:child_process that start a process. */
export const STARTERS = [
  'spawn',
  'spawnSync',
  'exec',
  'execSync',
  'execFile',
  'execFileSync',
  'fork',
] as const;

const NODE_MODULES = resolve('node_modules') + sep;

/** Whether `command` is a program inside this project's node_modules. */
export function installedTool(command: unknown): boolean {
  return typeof command === 'string' && resolve(command).startsWith(NODE_MODULES);
}

const starters = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of STARTERS) {
  const original = starters[name]!;
  starters[name] = (...args: unknown[]) => {
    if (name !== 'exec' && name !== 'execSync' && installedTool(args[0])) return original(...args);
    throw new Error(
      'a unit test may not start a process (' +
        name +
        ' ' +
        JSON.stringify(args[0]) +
        '): move the test to test/integration/',
    );
  };
}
// ES module imports of node:child_process see the replacements too.
syncBuiltinESMExports();
