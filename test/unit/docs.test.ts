// The docs ship with the project and stay true. The reference: every config key the validator
// knows, every console ERR code, every metric the appliance serves, every audit event and every
// signal `run` handles is in docs/reference.md. The README is a map a newcomer reads in minutes:
// at most 250 lines, every doc in docs/ linked from it, every folder of the repository named in its
// map with the rooms it may import (as test/unit/rooms.test.ts enforces them), and its minimal config
// valid. Every relative link in the README and docs/ leads to a file the release ships too, and
// every #anchor to a heading there.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { CONFIG_KEYS, parseConfigText, readConfig } from '../../config/validate';
import { Lifeline } from '../../firmware/lifeline';
import { SimHal } from '../../hal/sim/index';
import { renderMetrics } from '../../appliance/metrics';
import { IGNORED_SIGNALS, STOP_SIGNALS } from '../../appliance/run';
import { document, simRig } from '../helpers';

const REFERENCE = readFileSync('docs/reference.md', 'utf8');

describe('docs/reference.md', () => {
  it('documents every config key the validator knows, by its full path', () => {
    const missing: string[] = [];
    for (const path in CONFIG_KEYS) {
      for (const key of CONFIG_KEYS[path]!) {
        const full = path === 'config' ? key : path + '.' + key;
        if (!REFERENCE.includes('`' + full + '`')) missing.push(full);
      }
    }
    expect(missing).toEqual([]);
    expect(Object.keys(CONFIG_KEYS).length).toBeGreaterThan(10);
  });

  it('documents every ERR code of the console', () => {
    const source = readFileSync('firmware/console.ts', 'utf8');
    const codes = [...source.matchAll(/'ERR ([a-z-]+)/g)].map((match) => match[1]!);
    expect(codes.length).toBeGreaterThan(10);
    expect(codes.filter((code) => !REFERENCE.includes('`ERR ' + code + '`'))).toEqual([]);
  });

  it('documents every metric the appliance serves', () => {
    const rig = simRig();
    const text = renderMetrics({ lifeline: rig.lifeline, speaker: null, auth: null }, 0);
    const names = [...text.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1]!);
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((name) => !REFERENCE.includes('`' + name + '`'))).toEqual([]);
    // With `fleet` the guard's families are served too.
    const doc = document();
    doc['fleet'] = { siteCommunity: '65010:1', lastResortCommunity: '65010:666' };
    const config = readConfig(doc).config!;
    const sim = new SimHal({ socketsMax: 8, seed: 1 });
    const fleet = new Lifeline(config, sim, new ExaBgpAnnouncer(config, sim));
    fleet.start();
    const fleetText = renderMetrics({ lifeline: fleet, speaker: null, auth: null }, 0);
    const guardNames = [...fleetText.matchAll(/^# TYPE (\S+)/gm)].map((match) => match[1]!);
    expect(guardNames.length).toBeGreaterThan(names.length);
    expect(guardNames.filter((name) => !REFERENCE.includes('`' + name + '`'))).toEqual([]);
    for (const name of [
      'bgp_session_state',
      'bgp_updates_sent_total',
      'bgp_updates_received_total',
      'bgp_update_errors_total',
      'bgp_connections_refused_total',
      'bgp_log_suppressed_total',
    ])
      expect(REFERENCE).toContain('`lifeline_' + name + '`');
  });

  it('documents every audit event and every signal `lifeline run` handles', () => {
    const sources = ['firmware', 'appliance', 'hal'].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.ts'))
        .map((name) => readFileSync(join(dir, name), 'utf8')),
    );
    const events = new Set(
      sources.flatMap((text) => [...text.matchAll(/\.record\(\s*'([a-z-]+)'/g)].map((m) => m[1]!)),
    );
    expect(events).toContain('stop');
    const audit = REFERENCE.slice(REFERENCE.indexOf('## Audit records'));
    expect([...events].filter((event) => !audit.includes('| `' + event + '` |'))).toEqual([]);
    const signals = REFERENCE.slice(
      REFERENCE.indexOf('## Signals'),
      REFERENCE.indexOf('## ExaBGP'),
    );
    const handled = [...STOP_SIGNALS, ...IGNORED_SIGNALS];
    expect(handled.filter((name) => !signals.includes('`' + name + '`'))).toEqual([]);
  });

  it('is where the README sends users, and the README sends them nowhere they cannot follow', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme.includes('docs/reference.md')).toBe(true);
    for (const path of MARKDOWN) {
      expect(readFileSync(path, 'utf8').match(/SPEC\.md|DESIGN\.md/g), path).toBeNull();
    }
  });
});

const README = readFileSync('README.md', 'utf8');
const DOCS = readdirSync('docs')
  .filter((name) => name.endsWith('.md'))
  .map((name) => 'docs/' + name);
const MARKDOWN = ['README.md', ...DOCS];

/** The text outside fenced code blocks and inline code, where links and headings are. */
function prose(text: string): string {
  return text.replace(/^```[^]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as dashes. */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor of a markdown text (a repeated heading gets -1, -2, ... as on GitHub). */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of text.replace(/^```[^]*?^```/gm, '').matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = slug(match[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : base + '-' + count);
  }
  return found;
}

/** The relative links of a markdown file, resolved: each problem as `FILE: LINK: WHY`. */
function brokenLinks(path: string, text: string, read: (file: string) => string | null): string[] {
  const problems: string[] = [];
  for (const match of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = match[1]!;
    if (/^[a-z]+:/i.test(link)) continue;
    const [file, anchor] = link.split('#') as [string, string | undefined];
    const target = file === '' ? path : normalize(join(dirname(path), file));
    const content = read(target);
    // The release ships the README and docs/ only: a link elsewhere would break there.
    if (target !== 'README.md' && !target.startsWith('docs/'))
      problems.push(path + ': ' + link + ': outside README.md and docs/, which the release ships');
    else if (content === null) problems.push(path + ': ' + link + ': no such file');
    else if (anchor !== undefined && !anchors(content).has(anchor))
      problems.push(path + ': ' + link + ': no heading for #' + anchor);
  }
  return problems;
}

function readIfThere(path: string): string | null {
  if (!existsSync(path)) return null;
  return path.endsWith('.md') ? readFileSync(path, 'utf8') : '';
}

/** The README's section under `## title`, up to the next section. */
function section(title: string): string {
  const start = README.indexOf('\n## ' + title + '\n');
  expect(start, 'README section ' + title).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** Each room of the README's map with the rooms it says the room may import. */
function mapRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of section('Where everything is').split('\n')) {
    const cells = line.split(' | ');
    const folder = /^\| `([^`]+)\/`$/.exec(cells[0] ?? '');
    if (folder === null || cells.length < 3) continue;
    const imports = cells[cells.length - 1]!.replace(/ \|$/, '');
    rows.set(
      folder[1]!,
      [...imports.matchAll(/`([^`]+)`/g)].map((name) => name[1]!),
    );
  }
  return rows;
}

/** test/unit/rooms.test.ts's MAY_IMPORT table, read from its source: the one the rooms test enforces. */
function enforcedRooms(): Map<string, string[]> {
  const source = readFileSync('test/unit/rooms.test.ts', 'utf8');
  const table = /const MAY_IMPORT[^=]*= \{([^]*?)\n\};/.exec(source)![1]!;
  const rooms = new Map<string, string[]>();
  for (const entry of table.matchAll(/^ *'?([\w/.]+)'?: \[([^\]]*)\]/gm)) {
    if (entry[1] === '.') continue;
    rooms.set(
      entry[1]!,
      [...entry[2]!.matchAll(/'([^']+)'/g)].map((name) => name[1]!),
    );
  }
  return rooms;
}

describe('README and docs/', () => {
  it('keeps the README a map: at most 250 lines', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(250);
  });

  it('resolves every relative link to a file the release ships, and every #anchor to a heading there', () => {
    const problems = MARKDOWN.flatMap((path) =>
      brokenLinks(path, readFileSync(path, 'utf8'), readIfThere),
    );
    expect(problems).toEqual([]);
    // The check finds what it is for: a missing file, a missing heading, a link inside code.
    const sample =
      '# Top\n## A `b` (c)\n[x](#a-b-c) [y](#nope) [z](gone.md) `[w](gone.md)` [v](../lab/x.ts)\n';
    expect(
      brokenLinks('docs/x.md', sample, (file) => (file === 'docs/x.md' ? sample : null)),
    ).toEqual([
      'docs/x.md: #nope: no heading for #nope',
      'docs/x.md: gone.md: no such file',
      'docs/x.md: ../lab/x.ts: outside README.md and docs/, which the release ships',
    ]);
  });

  it('links every doc from the README, and each doc opens by saying whom it is for, linking back', () => {
    const linked = new Set(
      [...prose(README).matchAll(/\]\((docs\/[^)#\s]+)/g)].map((match) => match[1]!),
    );
    expect(DOCS.filter((path) => !linked.has(path))).toEqual([]);
    for (const path of DOCS) {
      const [title, opening] = readFileSync(path, 'utf8').split('\n\n');
      expect(title, path).toMatch(/^# \S/);
      expect(opening, path + ': its opening paragraph links back').toContain('](../README.md)');
    }
  });

  it("names every folder of the repository in the README's map, with the rooms it may import", () => {
    // The repository's folders: what is on disk less what .gitignore keeps out of it (read here
    // rather than asked of git, which a unit test may not start).
    const ignored = readFileSync('.gitignore', 'utf8')
      .split('\n')
      .filter((line) => /^[^!#/][^/*]*\/$/.test(line))
      .map((line) => line.slice(0, -1));
    const folders = new Set<string>();
    for (const entry of readdirSync('.', { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || ignored.includes(entry.name))
        continue;
      if (entry.name !== 'hal') folders.add(entry.name);
      else
        for (const sub of readdirSync('hal', { withFileTypes: true }))
          if (sub.isDirectory()) folders.add('hal/' + sub.name);
    }
    const rows = mapRows();
    expect([...folders].filter((folder) => !rows.has(folder))).toEqual([]);
    expect(folders.size).toBeGreaterThan(10);
    // What the map says a room may import is what test/unit/rooms.test.ts enforces.
    const enforced = enforcedRooms();
    expect(enforced.size).toBeGreaterThan(10);
    for (const [room, imports] of enforced) {
      expect(rows.get(room)?.sort(), 'README map, ' + room + '/').toEqual([...imports].sort());
    }
  });

  it('gives configs that the validator accepts, and the bound the minimal one computes', () => {
    let configs = 0;
    for (const path of MARKDOWN.filter((file) => file !== 'docs/reference.md')) {
      for (const block of readFileSync(path, 'utf8').matchAll(/^```json\n([^]*?)^```/gm)) {
        if (!block[1]!.includes('"device"')) continue;
        expect(parseConfigText(block[1]!).errors, path).toBeNull();
        configs++;
      }
    }
    expect(configs).toBeGreaterThanOrEqual(2);
    const minimal = /^```json\n([^]*?)^```/m.exec(section('A minimal config'))![1]!;
    const config = parseConfigText(minimal).config!;
    const fall = config.services[0]!.fall;
    const boundMs = config.timeoutMs + (fall - 1) * config.intervalMs;
    const computed = config.timeoutMs + ' + ' + (fall - 1) + '·' + config.intervalMs;
    expect(section('A minimal config')).toContain(
      computed + ' = ' + boundMs.toLocaleString('en') + ' ms',
    );
  });
});
