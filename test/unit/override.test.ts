// The override arbiter on its own (firmware/override.ts): what a stored overrides.json may hold
// and still be restored, entry by entry, at the edges of each check; what a restart charges an
// override and what it says about the clock; and what is written back. The mutation run found
// these edges unpinned by the tests through the console (test/unit/state.test.ts).

import { describe, expect, it } from 'vitest';

import type { Storage } from '../../firmware/hal';
import {
  DURATION_MS_MAX,
  OverrideArbiter,
  OverrideKind,
  OVERRIDE_PERSIST_MS,
} from '../../firmware/override';

const NAMES = ['dns', 'ntp'];
const WRITTEN_WALL_MS = 1_700_000_000_000;
const NOW_MS = 50_000;

/** A storage holding `text` as overrides.json (null: absent, or unreadable with `readError`). */
function storage(text: string | null, readError = ''): Storage {
  return { read: () => text, readError, replace: () => true, appendLine: () => true };
}

/** A valid stored entry for `dns`, with `fields` changed. */
function entry(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    service: 'dns',
    kind: 'withdraw',
    grantedMs: 600000,
    remainingMs: 300000,
    writtenAtWallMs: WRITTEN_WALL_MS,
    exact: true,
    ...fields,
  };
}

/** Restores `entries` a second after they were written; the arbiter and its notes. */
function restore(entries: unknown, elapsedMs = 1000) {
  const arbiter = new OverrideArbiter(NAMES.length, OverrideKind.Announce);
  const text = typeof entries === 'string' ? entries : JSON.stringify(entries);
  const notes = arbiter.restore(storage(text), NOW_MS, WRITTEN_WALL_MS + elapsedMs, NAMES);
  return { arbiter, notes };
}

const SKIPPED = 'overrides.json[0] is not an override of a configured service: skipped';

describe('override arbiter: restoring overrides.json', () => {
  it('restores a valid entry with what is left of it, and says nothing', () => {
    const { arbiter, notes } = restore([entry()]);
    expect(notes).toEqual([]);
    expect(arbiter.kind[0]).toBe(OverrideKind.Withdraw);
    expect(arbiter.expiresAtMs[0]).toBe(NOW_MS + 300000 - 1000);
    expect(arbiter.grantedMs[0]).toBe(600000);
    expect(arbiter.kind[1]).toBe(OverrideKind.None);
  });

  it.each([
    ['an unknown service', { service: 'nope' }],
    ['a service that is not a name', { service: 0 }],
    ['kind none', { kind: 'none' }],
    ['an unknown kind', { kind: 'sideways' }],
    ['a kind that is not a name', { kind: 1 }],
    ['a fractional grant', { grantedMs: 1.5 }],
    ['a grant as text', { grantedMs: '600000' }],
    ['a grant of 0', { grantedMs: 0, remainingMs: 0 }],
    ['a grant past 7 days', { grantedMs: DURATION_MS_MAX + 1 }],
    ['a negative remainder', { remainingMs: -1 }],
    ['a remainder past its grant', { remainingMs: 600001 }],
    ['a grant without a remainder', { remainingMs: null }],
    ['a remainder without a grant', { grantedMs: null }],
    ['a write time as text', { writtenAtWallMs: 'yesterday' }],
    ['a write time that is not finite', { writtenAtWallMs: 1e400 }],
    ['a legacy wall-clock expiry', { grantedMs: undefined, expiresAtWallMs: 1 }],
  ])('skips %s, and says so', (_what, fields) => {
    const { arbiter, notes } = restore([entry(fields)]);
    expect(notes).toEqual([SKIPPED]);
    expect(arbiter.kind[0]).toBe(OverrideKind.None);
  });

  it('takes every edge a check allows: a 1 ms grant, 7 days, a remainder of 0 or of all of it', () => {
    expect(restore([entry({ grantedMs: 1, remainingMs: 1 })], 0).notes).toEqual([]);
    const week = restore([entry({ grantedMs: DURATION_MS_MAX, remainingMs: DURATION_MS_MAX })]);
    expect(week.notes).toEqual([]);
    expect(week.arbiter.expiresAtMs[0]).toBe(NOW_MS + DURATION_MS_MAX - 1000);
    const whole = restore([entry({ remainingMs: 600000 })]);
    expect(whole.notes).toEqual([]);
    expect(whole.arbiter.expiresAtMs[0]).toBe(NOW_MS + 600000 - 1000);
    // Nothing left: a valid entry, over already (the wall clock's 0 s are all it had).
    const spent = restore([entry({ remainingMs: 0 })], 0);
    expect(spent.notes).toEqual([
      'overrides.json[0] (dns) expired while stopped (the wall clock says 0s passed, 0s were left)',
    ]);
    expect(spent.arbiter.kind[0]).toBe(OverrideKind.None);
  });

  it('keeps an override until auto, and the older format of one', () => {
    const untilAuto = restore([entry({ grantedMs: null, remainingMs: null, kind: 'announce' })]);
    expect(untilAuto.notes).toEqual([]);
    expect(untilAuto.arbiter.kind[0]).toBe(OverrideKind.Announce);
    expect(untilAuto.arbiter.expiresAtMs[0]).toBe(Infinity);
    const legacy = restore([{ service: 'ntp', kind: 'withdraw', expiresAtWallMs: null }]);
    expect(legacy.notes).toEqual([]);
    expect(legacy.arbiter.kind[1]).toBe(OverrideKind.Withdraw);
    expect(legacy.arbiter.expiresAtMs[1]).toBe(Infinity);
  });

  it('reads at most 64 entries, and says why a file is not a list of them', () => {
    const many = restore(Array.from({ length: 70 }, () => entry({ service: 'nope' })));
    expect(many.notes).toHaveLength(64);
    expect(many.notes[63]).toBe(SKIPPED.replace('[0]', '[63]'));
    expect(restore([]).notes).toEqual([]);
    expect(restore('{"service":"dns"}').notes).toEqual([
      'overrides.json is not a list: overrides cleared',
    ]);
    expect(restore('[{').notes).toEqual(['overrides.json is not valid JSON: overrides cleared']);
  });

  it('says when overrides.json cannot be read, and nothing when there is none', () => {
    const arbiter = new OverrideArbiter(2, OverrideKind.Announce);
    expect(arbiter.restore(storage(null, 'cannot be read (EIO)'), 0, 0, NAMES)).toEqual([
      'overrides.json cannot be read (EIO): no overrides',
    ]);
    expect(arbiter.restore(storage(null), 0, 0, NAMES)).toEqual([]);
    expect(arbiter.restore(null, 0, 0, NAMES)).toEqual([]);
  });

  it('charges a restart: the wall clock since, a persist interval after a crash, never less', () => {
    // A clean stop (exact) costs only the wall time since; a crash at least a persist interval.
    expect(restore([entry()], 0).arbiter.expiresAtMs[0]).toBe(NOW_MS + 300000);
    const crash = restore([entry({ exact: false })], 1000);
    expect(crash.arbiter.expiresAtMs[0]).toBe(NOW_MS + 300000 - OVERRIDE_PERSIST_MS);
    const long = restore([entry({ exact: false })], OVERRIDE_PERSIST_MS + 1);
    expect(long.arbiter.expiresAtMs[0]).toBe(NOW_MS + 300000 - OVERRIDE_PERSIST_MS - 1);
    // What is left is exactly the charge: over, not restored for 0 ms.
    const gone = restore([entry({ exact: false, remainingMs: OVERRIDE_PERSIST_MS })], 0);
    expect(gone.notes).toEqual([]);
    expect(gone.arbiter.kind[0]).toBe(OverrideKind.None);
  });

  it('says when the wall clock went backwards, and when the override ran out while stopped', () => {
    const behind = restore([entry({ exact: false })], -5000);
    expect(behind.notes).toEqual([
      'overrides.json[0] (dns) the wall clock is 5s behind the time it was written: charged 60s ' +
        'for the restart',
    ]);
    expect(behind.arbiter.expiresAtMs[0]).toBe(NOW_MS + 300000 - OVERRIDE_PERSIST_MS);
    const expired = restore([entry({ remainingMs: 300500 })], 300500);
    expect(expired.notes).toEqual([
      'overrides.json[0] (dns) expired while stopped (the wall clock says 301s passed, 301s ' +
        'were left)',
    ]);
    expect(expired.arbiter.kind[0]).toBe(OverrideKind.None);
    expect(restore([entry()], 299999).notes).toEqual([]);
  });
});

describe('override arbiter: in force and written back', () => {
  it('clears the expiry of an override set to none, and finds the earliest expiry', () => {
    const arbiter = new OverrideArbiter(2, OverrideKind.Withdraw);
    expect(arbiter.nextExpiryMs()).toBe(Infinity);
    arbiter.set(0, OverrideKind.Announce, 9000, 5000);
    arbiter.set(1, OverrideKind.Withdraw, 3000, 3000);
    expect(arbiter.nextExpiryMs()).toBe(3000);
    arbiter.set(1, OverrideKind.None, 4000, 4000);
    expect(arbiter.expiresAtMs[1]).toBe(Infinity);
    expect(arbiter.grantedMs[1]).toBe(Infinity);
    expect(arbiter.nextExpiryMs()).toBe(9000);
  });

  it('writes what is in force, nothing for a service without an override', () => {
    const arbiter = new OverrideArbiter(2, OverrideKind.Withdraw);
    expect(arbiter.serialize(0, WRITTEN_WALL_MS, NAMES, false)).toBe('[]\n');
    arbiter.set(1, OverrideKind.Withdraw, 10000, 60000);
    expect(arbiter.serialize(2000, WRITTEN_WALL_MS, NAMES, true)).toBe(
      '[{"service":"ntp","kind":"withdraw","grantedMs":60000,"remainingMs":8000,' +
        '"writtenAtWallMs":' +
        WRITTEN_WALL_MS +
        ',"exact":true}]\n',
    );
    const back = new OverrideArbiter(2, OverrideKind.Withdraw);
    const text = arbiter.serialize(2000, WRITTEN_WALL_MS, NAMES, true);
    expect(back.restore(storage(text), 0, WRITTEN_WALL_MS, NAMES)).toEqual([]);
    expect(back.expiresAtMs[1]).toBe(8000);
  });

  it('gives the pin its action over any console override, and the console its own otherwise', () => {
    const arbiter = new OverrideArbiter(2, OverrideKind.Withdraw);
    arbiter.set(0, OverrideKind.Announce, Infinity, Infinity);
    expect(arbiter.effective(0, 0)).toBe(1);
    expect(arbiter.effective(1, 7)).toBe(7);
    arbiter.pinAsserted = true;
    expect(arbiter.effective(0, 1)).toBe(0);
    expect(arbiter.effective(1, 1)).toBe(0);
  });
});
