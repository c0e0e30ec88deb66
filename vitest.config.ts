import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/build.ts'],
    testTimeout: 60000,
    hookTimeout: 60000,
    // The integration tests start BIRD, ExaBGP and dnsmasq on fixed loopback addresses: one file at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
