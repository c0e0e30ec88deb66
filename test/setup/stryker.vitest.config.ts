// The tests Stryker runs against each mutant of the firmware's decision, guard, override, auth
// and codec modules (stryker.config.mjs, `npm run mutate`): the unit tier's files that drive
// them, on the sim HAL, without the simulator's campaign (minutes per surviving mutant; the
// planted bugs and the exhaustive search already hold it to the same rules).

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/auth.test.ts',
      'test/unit/bgp-codec.test.ts',
      'test/unit/bgp-session.test.ts',
      'test/unit/console.test.ts',
      'test/unit/decision.test.ts',
      'test/unit/engine.test.ts',
      'test/unit/fleet-table.test.ts',
      'test/unit/guard.test.ts',
      'test/unit/override.test.ts',
      'test/unit/state.test.ts',
    ],
    setupFiles: ['test/setup/unit.ts'],
    // The fuzzes a twentieth as long (test/helpers.ts fuzzRuns): they cover most mutants.
    env: { LIFELINE_MUTATION: '1' },
    pool: 'forks',
    testTimeout: 60000,
  },
});
