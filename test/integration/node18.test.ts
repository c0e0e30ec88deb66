// The built program's own tests on Node 18 (issue 23): the core's unit tests, bundled for Node 18
// (scripts/node18-check.sh), on Debian 12's nodejs, the Node a Raspberry Pi has: amd64 in the
// Debian 12 root, arm64 and armhf under qemu-user. The same test files as here, on a stand-in for
// vitest (which does not run on Node 18). The installed package's own run on Node 18 is
// test/integration/deb.test.ts's.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { skipping } from '../support/complete';

const skip = skipping(
  'Node 18 test',
  process.getuid?.() !== 0 ? 'not root: the Debian root and the sysroots need dpkg and apt' : '',
);

const ARCHES = [
  ['amd64', 'x64'],
  ['arm64', 'arm64'],
  ['armhf', 'arm'],
] as const;

describe.skipIf(skip)('Node 18', () => {
  for (const [arch, nodeArch] of ARCHES) {
    it(
      'runs the core unit tests on Debian 12 nodejs for ' + arch + ', all passing',
      () => {
        const result = spawnSync('bash', ['scripts/node18-check.sh', arch], {
          encoding: 'utf8',
          timeout: 600000,
        });
        const output = result.stdout + result.stderr;
        expect(output, output.slice(-3000)).toMatch(
          new RegExp('^node v18\\.\\d+\\.\\d+ on ' + nodeArch + '$', 'm'),
        );
        const counts = /^(\d+) passed, (\d+) failed(, (\d+) skipped)?$/m.exec(output);
        expect(counts, output.slice(-3000)).not.toBeNull();
        expect(Number(counts![2]), output.slice(-3000)).toBe(0);
        expect(Number(counts![1])).toBeGreaterThanOrEqual(60);
        // Only armhf leaves out the long randomized runs (scripts/arm64/vitest-shim.ts): the
        // simulated day of engine.test, and the fuzzing of dns, bgp-session and bgp-codec (two).
        expect(Number(counts![4] ?? 0)).toBe(arch === 'armhf' ? 5 : 0);
        expect(result.status).toBe(0);
      },
      600000,
    );
  }
});
