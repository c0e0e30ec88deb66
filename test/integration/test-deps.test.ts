// The Debian tools the tests need have one source, scripts/ensure-test-deps.mjs's table, which the
// pretest step installs. A test that needs a command the table lacks passes only on a machine that
// happens to have it (test/integration/clock.test.ts and faketime passed in CI and failed on a fresh machine):
// here it fails everywhere, whether the tool is installed or not. What a test (or a lab rig the
// tests start their peers with) requires, every absolute tool path it names and every command it
// spawns by name is in the table, or belongs to one of Debian's Essential packages (on every
// Debian system; dpkg says which).

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { NEEDED } from '../../scripts/ensure-test-deps.mjs';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

/** The tests and the lab's rigs they start their peers with (lab/bird.ts, lab/dnsmasq.ts ...). */
const TESTS = [...files('test'), ...files('lab')].map((path) => ({
  path,
  text: readFileSync(path, 'utf8'),
}));
const TABLE_PATHS = new Set(NEEDED.map(([path]) => path));
const TABLE_NAMES = new Set(NEEDED.map(([path]) => path.slice(path.lastIndexOf('/') + 1)));
const DPKG = existsSync('/usr/bin/dpkg-query');

/** Every match of `pattern`'s first group in the tests, with where it was found. */
function found(pattern: RegExp): { value: string; where: string }[] {
  return TESTS.flatMap(({ path, text }) =>
    [...text.matchAll(pattern)].map((match) => ({
      value: match[1]!,
      where: path + ':' + text.slice(0, match.index).split('\n').length,
    })),
  );
}

/** The Debian packages that own `path` (tried as given, resolved, and without /usr: usrmerge). */
function owners(path: string): string[] {
  const real = existsSync(path) ? realpathSync(path) : path;
  for (const candidate of new Set([
    path,
    real,
    path.replace(/^\/usr/, ''),
    real.replace(/^\/usr/, ''),
  ])) {
    const result = spawnSync('dpkg-query', ['-S', candidate], { encoding: 'utf8' });
    const packages = result.stdout
      .split('\n')
      .filter((line) => /^[a-z0-9.+-]+(:[a-z0-9]+)?(, [a-z0-9.+-]+(:[a-z0-9]+)?)*: \//.test(line))
      .flatMap((line) => line.slice(0, line.indexOf(': ')).split(', '))
      .map((name) => name.split(':')[0]!);
    if (packages.length > 0) return packages;
  }
  return [];
}

const essentials = new Map<string, boolean>();

function essential(path: string): boolean {
  const known = essentials.get(path);
  if (known !== undefined) return known;
  const answer = owners(path).some(
    (name) =>
      spawnSync('dpkg-query', ['-W', '-f=${Essential}', name], { encoding: 'utf8' }).stdout ===
      'yes',
  );
  essentials.set(path, answer);
  return answer;
}

/** A bare command as the tests' PATH finds it, or null. */
function which(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

describe('the Debian tools the tests use are all in the pretest table', () => {
  it('has every requireCommand(PATH, PACKAGE) of the tests as a row of the table', () => {
    const rows = new Set(NEEDED.map(([path, name]) => "'" + path + "', '" + name + "'"));
    const required = found(/requireCommand\(\s*('[^']+',\s*'[^']+')/g);
    expect(required.length).toBeGreaterThan(10);
    const missing = required.filter(({ value }) => !rows.has(value.replace(/,\s*/, ', ')));
    expect(missing).toEqual([]);
  });

  it('has every absolute tool path a test names, unless an Essential package has it', () => {
    const paths = found(/'((?:\/usr)?\/s?bin\/[\w.+-]+|\/usr\/lib\/[\w.+-]+\/[\w.+-]+)'/g);
    expect(paths.length).toBeGreaterThan(10);
    // The same tool looked for in another place (lab/dnsmasq.ts tries /usr/bin too) is in it.
    const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
    const missing = paths.filter(
      ({ value }) => !TABLE_PATHS.has(value) && !TABLE_NAMES.has(basename(value)),
    );
    if (!DPKG) return expect(missing).toEqual([]);
    expect(missing.filter(({ value }) => !essential(value))).toEqual([]);
  });

  it('has every command a test spawns by name, unless an Essential package has it', () => {
    const spawned = found(/\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*'([^'/]+)'/g);
    expect(spawned.map(({ value }) => value)).toContain('faketime');
    const missing = spawned.filter(({ value }) => !TABLE_NAMES.has(value));
    if (!DPKG) return expect(missing).toEqual([]);
    expect(
      missing.filter(({ value }) => {
        const path = which(value);
        return path === null || !essential(path);
      }),
    ).toEqual([]);
  });

  it('lists every package of the table in docs/testing.md', () => {
    const readme = readFileSync('docs/testing.md', 'utf8').replace(/\s+/g, ' ');
    const pretest = readme.slice(readme.indexOf('Its `pretest` step installs'));
    const unlisted = [...new Set(NEEDED.map(([, name]) => name))].filter(
      (name) => !pretest.slice(0, 1200).includes('`' + name + '`'),
    );
    expect(unlisted).toEqual([]);
  });
});
