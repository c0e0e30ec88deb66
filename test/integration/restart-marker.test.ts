// The restart marker (docs/install.md, upgrades): a SIGTERM while `restarting` is fresh in the
// service's runtime directory keeps the routes for graceful restart, and only then; every other
// stop is what `announcer.onShutdown` says. The routes at a real BIRD during a package upgrade are
// test/integration/deb.test.ts's; this is the rule itself, one process per case.

import { spawn } from 'node:child_process';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { document } from '../helpers';
import { waitFor } from '../support/peers';

const dir = mkdtempSync(join(tmpdir(), 'lifeline-restart-'));

/** Runs the built-in speaker (its peer never answers), stops it with SIGTERM, returns stderr. */
async function stopWith(options: {
  restartTimeS: number;
  marker: 'fresh' | 'stale' | 'none';
  runtime: boolean;
}): Promise<string> {
  const doc = document({ intervalMs: 100, timeoutMs: 80 }) as any;
  doc.announcer = {
    kind: 'bgp',
    localAs: 65010,
    routerId: '192.0.2.10',
    restartTimeS: options.restartTimeS,
    peers: [{ address: '127.0.0.1', port: 1, remoteAs: 65000, nextHopV4: '192.0.2.10' }],
  };
  doc.services[0].prefixes = ['192.0.2.53/32'];
  const runtime = mkdtempSync(join(dir, 'run-'));
  const config = join(runtime, 'config.json');
  writeFileSync(config, JSON.stringify(doc));
  if (options.marker !== 'none') {
    writeFileSync(join(runtime, 'restarting'), '');
    if (options.marker === 'stale') {
      const twoMinutesAgo = (Date.now() - 120000) / 1000;
      utimesSync(join(runtime, 'restarting'), twoMinutesAgo, twoMinutesAgo);
    }
  }
  const env = { ...process.env };
  if (options.runtime) env['RUNTIME_DIRECTORY'] = runtime;
  else delete env['RUNTIME_DIRECTORY'];
  const child = spawn(process.execPath, ['dist/lifeline.mjs', 'run', '--config', config], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await waitFor(() => stderr.includes(' boot '), 5000, 'the boot line');
  // The signal handlers are installed right after the boot line.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return stderr;
}

describe('the restart marker', () => {
  it('keeps the routes on SIGTERM when fresh and graceful restart is on', async () => {
    const stderr = await stopWith({ restartTimeS: 60, marker: 'fresh', runtime: true });
    expect(stderr).toMatch(/restart announced by \S+\/restarting: the routes are left to graceful/);
    expect(stderr).toMatch(/shutdown routes=kept/);
  });

  it('withdraws as configured otherwise: stale, absent, without graceful restart or systemd', async () => {
    for (const options of [
      { restartTimeS: 60, marker: 'stale', runtime: true },
      { restartTimeS: 60, marker: 'none', runtime: true },
      { restartTimeS: 0, marker: 'fresh', runtime: true },
      { restartTimeS: 60, marker: 'fresh', runtime: false },
    ] as const) {
      const stderr = await stopWith(options);
      expect(stderr, JSON.stringify(options)).toMatch(/shutdown routes=withdrawn/);
      expect(stderr).not.toMatch(/restart announced/);
    }
  });
});
