// The reference ships with the project and stays true: every config key the validator knows, every
// console ERR code and every metric the appliance serves is in docs/reference.md, and the README
// points users there rather than at notes they do not have.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { CONFIG_KEYS, readConfig } from '../../firmware/config';
import { Lifeline } from '../../firmware/lifeline';
import { SimHal } from '../../hal/sim/index';
import { renderMetrics } from '../../appliance/metrics';
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
    ])
      expect(REFERENCE).toContain('`lifeline_' + name + '`');
  });

  it('is where the README sends users, and the README sends them nowhere they cannot follow', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme.includes('docs/reference.md')).toBe(true);
    expect(readme.match(/SPEC\.md|DESIGN\.md/g)).toBeNull();
  });
});
