import { defineConfig } from 'vitest/config';

// Two tiers (docs/testing.md). `npm run test:unit` runs the unit tier alone: no build, no Debian
// tool, no child process (its setup makes starting one throw), files in parallel
// (test/unit/tiers.test.ts holds it to that). `npm test` runs both: the unit tier first, then the
// integration tier, which builds both targets first (its global setup) and runs its files one at
// a time, as they start BIRD, ExaBGP and dnsmasq on fixed loopback addresses and some measure time.
export default defineConfig({
  test: {
    pool: 'forks',
    // A complete run (LIFELINE_TEST_COMPLETE=1, CI: test/support/complete.ts) fails on any
    // skipped test.
    reporters:
      process.env['LIFELINE_TEST_COMPLETE'] === '1'
        ? ['default', './test/setup/complete-reporter.ts']
        : ['default'],
    // A test that needs longer says so (the exhaustive search, the real interpreter).
    testTimeout: 60000,
    hookTimeout: 60000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/setup/unit.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/build.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
