// The core's unit tests on ARM64: Debian's arm64 nodejs under qemu-user (scripts/arm64-check.sh),
// the same test files as here on a stand-in for vitest (which does not run on Debian's Node 18).

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { skipping } from '../support/complete';

const reason = process.getuid?.() !== 0 ? 'not root: the arm64 sysroot needs dpkg and apt' : '';

describe.skipIf(skipping('arm64 test', reason))('ARM64', () => {
  it('runs the core unit tests on arm64 Node under qemu-user, all passing', () => {
    const result = spawnSync('bash', ['scripts/arm64-check.sh'], {
      encoding: 'utf8',
      timeout: 600000,
    });
    const output = result.stdout + result.stderr;
    expect(output, output.slice(-3000)).toMatch(/^node v\d+\.\d+\.\d+ on arm64$/m);
    const counts = /^(\d+) passed, (\d+) failed$/m.exec(output);
    expect(counts, output.slice(-3000)).not.toBeNull();
    expect(Number(counts![2]), output.slice(-3000)).toBe(0);
    expect(Number(counts![1])).toBeGreaterThanOrEqual(60);
    expect(result.status).toBe(0);
  }, 600000);
});
