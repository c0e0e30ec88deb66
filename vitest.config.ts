import { defineConfig } from 'vitest/config';

// Two tiers (docs/testing.md). `npm run test:unit` runs the unit tier alone: no build, no Debian
// tool, no child process (its setup makes starting one throw), files in parallel
// (test/unit/tiers.test.ts holds it to that). `npm test` runs both: the unit tier first, then the
// integration tier, which builds both targets first (its global setup, once for its two projects)
// and runs its files one at a time, as they start BIRD, ExaBGP and dnsmasq on fixed loopback
// addresses and some measure time, except for the CPU-bound ones below, which run beside them.
// The integration files that only compute (the simulator's campaigns, the core's tests under qemu):
// no peer, no address, no wall-clock bound. They run one at a time beside the others (the same
// group), on the core the router tests leave idle while they wait for their peers.
const CPU_BOUND = [
  'test/integration/sim-campaign.test.ts',
  'test/integration/fleet-sim.test.ts',
  'test/integration/node18.test.ts',
];

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
          exclude: CPU_BOUND,
          globalSetup: ['test/setup/build.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration-cpu',
          include: CPU_BOUND,
          globalSetup: ['test/setup/build.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
