// The complete run end to end (test/support/complete.ts, test/setup/complete-reporter.ts): vitest
// with this project's config, on a unit file of which a filter leaves one test to run and skips
// the other. Outside a complete run that passes; with LIFELINE_TEST_COMPLETE=1 the skipped test
// fails the run, by name. And the pretest refuses a complete run without the Espruino builds.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function vitest(complete: boolean): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['LIFELINE_TEST_COMPLETE'];
  delete env['FORCE_COLOR'];
  if (complete) env['LIFELINE_TEST_COMPLETE'] = '1';
  const result = spawnSync(
    process.execPath,
    [
      'node_modules/vitest/vitest.mjs',
      'run',
      '--project',
      'unit',
      'test/unit/slab.test.ts',
      '-t',
      'gives zeroed',
    ],
    { encoding: 'utf8', env, timeout: 120000 },
  );
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('the complete run (LIFELINE_TEST_COMPLETE=1)', () => {
  it('fails a run in which a test was skipped, naming it; the same run passes outside it', () => {
    const relaxed = vitest(false);
    expect(relaxed.status, relaxed.output).toBe(0);
    expect(relaxed.output).toMatch(/1 passed \| 1 skipped/);
    const complete = vitest(true);
    expect(complete.status, complete.output).toBe(1);
    const name = 'typed arrays carved from shared blocks (the board build) > gives a large array';
    expect(complete.output).toContain(
      'LIFELINE_TEST_COMPLETE=1: 1 skipped tests fail a complete run:\n' +
        '  test/unit/slab.test.ts > ' +
        name,
    );
  }, 240000);

  it('has the pretest refuse a complete run without the Espruino builds, naming each', () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LIFELINE_TEST_COMPLETE: '1',
      LIFELINE_ESPRUINO_DIR: '/none',
    };
    const result = spawnSync(process.execPath, ['scripts/ensure-test-deps.mjs'], {
      encoding: 'utf8',
      env,
    });
    expect(result.status).toBe(1);
    for (const build of ['espruino', 'espruino-5100', 'espruino-1700'])
      expect(result.stderr).toContain('no Espruino Linux build at /none/' + build + ' ');
    delete env['LIFELINE_TEST_COMPLETE'];
    const relaxed = spawnSync(process.execPath, ['scripts/ensure-test-deps.mjs'], { env });
    expect(relaxed.status).toBe(0);
  });
});
