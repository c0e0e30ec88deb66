// The two test tiers (vitest.config.ts, docs/testing.md) stay what they say: every test file is in
// one of them; the unit tier builds nothing, starts no process and needs no Debian tool, so that
// `npm run test:unit` gives a developer a fast loop anywhere; `npm test` runs both tiers.

import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import config from '../../vitest.config';
import { installedTool, STARTERS } from '../setup/unit';

function files(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...files(path));
    else found.push(path);
  }
  return found;
}

/**
 * What a unit test file may not name (this file aside): a child process, the build's output, a
 * Debian tool's wrapper (lab/, test/support/) or the real interpreter.
 */
const FORBIDDEN = [
  'child_process',
  'dist/',
  'requireCommand',
  'startBird',
  'startFleetBird',
  'startExaBgp',
  'startRouter',
  'startDnsmasq',
  'makeNetnsLab',
  'keygen(',
  'support/espruino-real',
  'support/peers',
  'support/routers',
  'support/netns',
];

interface Project {
  test: {
    name: string;
    include: string[];
    globalSetup?: string[];
    setupFiles?: string[];
    fileParallelism?: boolean;
  };
}

const PROJECTS = (config as { test: { projects: Project[] } }).test.projects;
const project = (name: string): Project['test'] => PROJECTS.find((p) => p.test.name === name)!.test;

describe('the test tiers', () => {
  it('puts every test file in test/unit or test/integration, so that one of them runs it', () => {
    const tests = files('test').filter((path) => path.endsWith('.test.ts'));
    expect(tests.length).toBeGreaterThan(40);
    const elsewhere = tests.filter(
      (path) => !path.startsWith('test/unit/') && !path.startsWith('test/integration/'),
    );
    expect(elsewhere).toEqual([]);
    expect(PROJECTS.map((p) => [p.test.name, p.test.include])).toEqual([
      ['unit', ['test/unit/**/*.test.ts']],
      ['integration', ['test/integration/**/*.test.ts']],
    ]);
  });

  it('builds nothing for the unit tier, in parallel; the integration tier builds first, one file at a time', () => {
    expect(project('unit').globalSetup).toBeUndefined();
    expect(project('unit').fileParallelism).toBeUndefined();
    expect(project('unit').setupFiles).toEqual(['test/setup/unit.ts']);
    expect(project('integration').globalSetup).toEqual(['test/setup/build.ts']);
    expect(project('integration').fileParallelism).toBe(false);
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts;
    expect(scripts['test:unit']).toBe('vitest run --project unit');
    expect(scripts['test']).toBe('vitest run');
    expect(scripts['pretest:unit']).toBeUndefined();
  });

  it('names no child process, build output, Debian tool or real interpreter in a unit test', () => {
    const found: string[] = [];
    for (const path of files('test/unit').filter((p) => p !== 'test/unit/tiers.test.ts')) {
      const lines = readFileSync(path, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const word of FORBIDDEN)
          if (line.includes(word)) found.push(path + ':' + (i + 1) + ' ' + word);
      });
    }
    expect(found).toEqual([]);
  });

  it("makes starting a process throw in the unit tier, but for the npm install's own tools", () => {
    expect(STARTERS).toHaveLength(7);
    expect(() => spawnSync('true')).toThrow(
      /a unit test may not start a process \(spawnSync "true"\)/,
    );
    expect(() => spawn('true')).toThrow(/move the test to test\/integration\//);
    expect(() => spawnSync(process.execPath, ['dist/lifeline.mjs'])).toThrow(/may not start/);
    expect(() => spawnSync('/usr/sbin/birdc')).toThrow(/may not start/);
    // What the project's own npm install put in node_modules may run (esbuild's service).
    expect(installedTool('node_modules/@esbuild/linux-x64/bin/esbuild')).toBe(true);
    expect(installedTool('node_modules/../dist/lifeline.mjs')).toBe(false);
    expect(installedTool('/usr/sbin/birdc')).toBe(false);
  });
});
