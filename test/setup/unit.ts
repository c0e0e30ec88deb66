// The unit tier's setup, in each of its test files' processes: starting a child process throws.
// A unit test runs on what is in the repository alone (no dist/, no Debian tool such as BIRD or
// mkfifo): a call that would start one fails the test, with the reason, instead of passing on the
// machines that have the tool and failing on those without.

import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

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

const starters = childProcess as unknown as Record<string, unknown>;
for (const name of STARTERS) {
  starters[name] = (...args: unknown[]) => {
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
