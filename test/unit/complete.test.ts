// Skips and the complete run (test/support/complete.ts): outside it a test that cannot run here
// skips with its reason on stderr; in it (LIFELINE_TEST_COMPLETE=1, CI) that reason fails the
// file. Every skip in the suite goes through `skipping`, so that none passes a complete run
// quietly; the reporter catches the rest (test/integration/complete-run.test.ts).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { COMPLETE_VARIABLE, completeRun, skipping } from '../support/complete';

function files(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...files(path));
    else if (path.endsWith('.ts')) found.push(path);
  }
  return found;
}

describe('skips and the complete run', () => {
  const before = process.env[COMPLETE_VARIABLE];
  afterEach(() => {
    if (before === undefined) delete process.env[COMPLETE_VARIABLE];
    else process.env[COMPLETE_VARIABLE] = before;
    vi.restoreAllMocks();
  });

  it('skips with the reason on stderr outside a complete run, and not at all without a reason', () => {
    delete process.env[COMPLETE_VARIABLE];
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => written.push(String(text)) > 0);
    expect(completeRun()).toBe(false);
    expect(skipping('netns test', '')).toBe(false);
    expect(skipping('netns test', null)).toBe(false);
    expect(written).toEqual([]);
    expect(skipping('netns test', 'not root')).toBe(true);
    expect(written).toEqual(['netns test skipped: not root\n']);
  });

  it('throws in a complete run instead of skipping, with the reason', () => {
    process.env[COMPLETE_VARIABLE] = '1';
    expect(completeRun()).toBe(true);
    expect(skipping('netns test', '')).toBe(false);
    expect(() => skipping('netns test', 'not root')).toThrow(
      'netns test skipped: not root (LIFELINE_TEST_COMPLETE=1: a complete run skips nothing)',
    );
    process.env[COMPLETE_VARIABLE] = 'yes';
    expect(completeRun()).toBe(false);
  });

  it('skips only through `skipping`: no bare .skip, .todo or .only, and each skipIf asks it', () => {
    const found: string[] = [];
    for (const path of files('test').filter((p) => p !== 'test/unit/complete.test.ts')) {
      const text = readFileSync(path, 'utf8');
      text.split('\n').forEach((line, i) => {
        const where = path + ':' + (i + 1) + ' ' + line.trim();
        if (/\b(it|test|describe)\.(skip|todo|only)\(|\.todo\(/.test(line)) found.push(where);
        if (/skipIf\(/.test(line) && !/skipIf\((skip|skipping\()/.test(line)) found.push(where);
        if (/context\.skip\(/.test(line) && !text.includes("from '../support/complete'"))
          found.push(where);
      });
    }
    expect(found).toEqual([]);
  });

  it('has the pretest check, in a complete run, the Espruino builds the real-interpreter tests need', () => {
    const pretest = readFileSync('scripts/ensure-test-deps.mjs', 'utf8');
    const support = readFileSync(join('test', 'support', 'espruino-real.ts'), 'utf8');
    const builds = /for \(const build of (\[[^\]]*\])\)/.exec(support)![1]!;
    expect(pretest).toContain('const ESPRUINO_BUILDS = ' + builds + ';');
    for (const text of [pretest, support]) {
      expect(text).toContain("resolve('..', 'shared', 'tools', 'espruino')");
      expect(text).toContain("process.env['LIFELINE_ESPRUINO_DIR']");
    }
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^export LIFELINE_TEST_COMPLETE=1$/m);
  });
});
