// `npm run mutate` (docs/testing.md): mutation testing of the firmware's decision, guard, override,
// auth and codec modules, against the unit tier's tests that drive them
// (test/setup/stryker.vitest.config.ts). CPU heavy, so one process and outside `npm test`; the
// report goes to .cache/mutation/ (index.html, mutation.json), the score per module to stdout.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/setup/stryker.vitest.config.ts', related: false },
  mutate: [
    'firmware/decision.ts',
    'firmware/guard.ts',
    'firmware/override.ts',
    'firmware/auth.ts',
    'firmware/bgp/codec.ts',
  ],
  coverageAnalysis: 'perTest',
  // A mutant in code that runs at import (a constant table) would need every test run again for
  // it: left out, and counted apart in the report.
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 10000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.cache/mutation/index.html' },
  jsonReporter: { fileName: '.cache/mutation/mutation.json' },
  tempDirName: '.cache/stryker-tmp',
  // The sandbox is a copy of the project: without the build, the caches and the results.
  ignorePatterns: ['dist', '.cache', 'bench/results'],
  cleanTempDir: true,
  thresholds: { high: 90, low: 80, break: null },
};
