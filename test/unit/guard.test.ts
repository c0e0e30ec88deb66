// The fleet guard (issue 12) as a specification, on the sim HAL: what an automatic "down" does
// with a fleet view that says how many other sites announce normally, without one (whenUnknown,
// the panic threshold), under the operator's overrides, and the rejoin spread.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { Authenticator, hashCode } from '../../firmware/auth';
import { type Config } from '../../firmware/config';
import { readConfig } from '../../config/validate';
import { Console } from '../../firmware/console';
import type { FleetView } from '../../firmware/fleet';
import { fnv1a32, rejoinOffsetMs } from '../../firmware/guard';
import { Lifeline } from '../../firmware/lifeline';
import { OverrideKind, UNDECIDED } from '../../firmware/override';
import { Behaviour, SimHal } from '../../hal/sim/index';
import { renderMetrics } from '../../appliance/metrics';
import { document, type ConfigOptions } from '../helpers';

/** A fleet view the test sets: known or not, and how many other sites announce normally. */
export class FakeView implements FleetView {
  isKnown = true;
  others = 0;
  notices: string[] = [];
  /** The families no session carries (Family bits). */
  unseenFamilies = 0;
  known(): boolean {
    return this.isKnown;
  }
  healthyOthers(): number {
    return this.others;
  }
  unseen(): number {
    return this.unseenFamilies;
  }
}

/** The ExaBGP announcer with a fleet view (the speaker's comes from BGP). */
class ViewAnnouncer extends ExaBgpAnnouncer {
  constructor(
    config: Config,
    hal: SimHal,
    readonly fleet: FleetView | null,
  ) {
    super(config, hal);
  }
}

const KEY = new Uint8Array(32).fill(7);
const FLEET = { siteCommunity: '65010:1', lastResortCommunity: '65010:666', lastResortMed: 500 };
const HOLD = [
  'announce route 192.0.2.53/32 next-hop self med 500 community [ 65010:1 65010:666 ]',
  'announce route 2001:db8:53::/48 next-hop self med 500 community [ 65010:1 65010:666 ]',
];
const NORMAL = [
  'announce route 192.0.2.53/32 next-hop self community [ 65010:1 ]',
  'announce route 2001:db8:53::/48 next-hop self community [ 65010:1 ]',
];
const WITHDRAW = [
  'withdraw route 192.0.2.53/32 next-hop self',
  'withdraw route 2001:db8:53::/48 next-hop self',
];

interface RigOptions extends ConfigOptions {
  fleet?: Record<string, unknown> | null;
  guard?: Record<string, unknown>;
  drain?: boolean;
  name?: string;
}

function guardRig(options: RigOptions = {}, view: FakeView | null = new FakeView()) {
  const doc = document({ rise: 2, fall: 2, ...options });
  if (options.fleet !== null) doc['fleet'] = { ...FLEET, ...options.fleet };
  if (options.guard !== undefined) doc['guard'] = options.guard;
  if (options.drain === true)
    (doc['services'] as Record<string, unknown>[])[0]!['drain'] = { med: 900 };
  if (options.name !== undefined) doc['device'] = { name: options.name };
  const result = readConfig(doc);
  if (result.config === null) throw new Error(result.errors.join('\n'));
  const built = result.config;
  const sim = new SimHal({ socketsMax: 16, seed: 3 });
  const lifeline = new Lifeline(built, sim, new ViewAnnouncer(built, sim, view));
  lifeline.start();
  const replies: string[] = [];
  const auth = new Authenticator(sim, lifeline.audit, KEY, [hashCode('ABCD-EFGH')]);
  const console_ = new Console({
    lifeline,
    auth,
    write: (line) => replies.push(line),
    bgpSummary: () => 'exabgp',
    drill: null,
  });
  const type = (text: string): string[] => {
    const from = replies.length;
    const bytes = new Uint8Array(Buffer.from(text + '\r\n', 'latin1'));
    console_.receive(bytes, 0, bytes.length);
    return replies.slice(from);
  };
  const login = (): void => {
    const challenge = /challenge=([0-9a-f]{32})/.exec(type('auth').join('\n'))![1]!;
    const answer = createHmac('sha256', KEY).update(Buffer.from(challenge, 'hex')).digest('hex');
    expect(type('auth ' + answer)).toEqual(['OK authenticated']);
  };
  const audit = (event: string): string[] =>
    lifeline.audit
      .last(256)
      .filter((record) => record.split(' ')[2] === event)
      .map((record) => record.split(' ').slice(3).join(' '));
  return { sim, lifeline, type, login, audit, view };
}

/**
 * A guarded site up for 2 s with `others` other sites announcing normally, whose data centres then
 * fall silent for `silentMs`.
 */
function fallenSite(options: RigOptions, others: number, silentMs: number) {
  const rig = guardRig(options);
  rig.view!.others = others;
  rig.sim.runFor(2000);
  rig.sim.setAll({ behaviour: Behaviour.Silent });
  rig.sim.runFor(silentMs);
  return rig;
}

describe('fleet guard (sim HAL)', () => {
  it('holds as last resort while fewer than minHealthySites others announce, releases when enough', () => {
    const rig = guardRig({ fleet: { minHealthySites: 2 } });
    rig.view!.others = 1;
    rig.sim.runFor(2000);
    expect(rig.sim.emitted).toEqual(NORMAL);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(2000);
    expect(rig.sim.emitted.slice(2)).toEqual(HOLD);
    expect(rig.audit('guard')).toEqual(['service=dns action=hold others=1 min=2 reason=fleet']);
    expect(rig.type('status')[0]).toMatch(/state=last-resort auto=down .* guard=holding$/);
    rig.sim.runFor(60000);
    expect(rig.sim.emitted.length).toBe(4); // no UPDATE while nothing changes
    rig.view!.others = 2;
    rig.sim.runFor(300);
    expect(rig.sim.emitted.slice(4)).toEqual(WITHDRAW);
    expect(rig.audit('guard')[1]).toBe('service=dns action=release others=2 min=2 reason=fleet');
    expect(rig.type('status')[0]).toMatch(/state=withdrawn .* guard=idle$/);
    rig.view!.others = 0; // every other site went down meanwhile: back as last resort
    rig.sim.runFor(300);
    expect(rig.sim.emitted.slice(6)).toEqual(HOLD);
  });

  it('withdraws once the fall has settled when enough other sites announce normally', () => {
    const rig = fallenSite({ fleet: { settleMs: 3000 } }, 3, 2000);
    // Down: still announced, as last resort, while the other sites learn of it.
    expect(rig.sim.emitted.slice(2)).toEqual(HOLD);
    const heldMs = rig.sim.emittedAtMs[2]!;
    expect(rig.audit('guard')).toEqual(['service=dns action=hold others=3 min=1 reason=settle']);
    rig.sim.runFor(4000);
    expect(rig.sim.emitted.slice(4)).toEqual(WITHDRAW);
    const settledMs = rig.sim.emittedAtMs[4]! - heldMs;
    expect(settledMs).toBeGreaterThanOrEqual(3000);
    expect(settledMs).toBeLessThanOrEqual(3000 + 1000); // the next round after it
    expect(rig.audit('guard')[1]).toBe('service=dns action=release others=3 min=1 reason=fleet');
    // Without a settle (settleMs 0) a fall withdraws at once, as without the guard.
    const bare = fallenSite({ fleet: { settleMs: 0 } }, 3, 2000);
    expect(bare.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(bare.audit('guard')).toEqual([]);
  });

  it('keeps holding when the other sites fell at the same time: the view after the settle decides', () => {
    // Two sites fail together; each saw the other announcing normally when it fell. Withdrawing
    // on that view (settleMs 0) takes the prefix off the internet until each sees the other gone.
    const racing = fallenSite({ fleet: { settleMs: 0 } }, 1, 2000);
    expect(racing.sim.emitted.slice(2)).toEqual(WITHDRAW);
    const rig = fallenSite({ fleet: { settleMs: 2000 } }, 1, 1500);
    expect(rig.sim.emitted.slice(2)).toEqual(HOLD);
    rig.view!.others = 0; // the other site's last-resort announcement arrives
    rig.sim.runFor(10000);
    expect(rig.sim.emitted.length).toBe(4); // never withdrawn
    expect(rig.audit('guard')).toEqual([
      'service=dns action=hold others=1 min=1 reason=settle',
      'service=dns action=hold others=0 min=1 reason=fleet',
    ]);
    expect(rig.type('status')[0]).toMatch(/state=last-resort auto=down .* guard=holding$/);
  });

  it('re-announces normally at once when a holding site recovers: no rejoin delay for it', () => {
    const rig = guardRig({ fleet: { rejoinSpreadMs: 3600000 } });
    rig.sim.runFor(2000);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(2000);
    expect(rig.sim.emitted.slice(2)).toEqual(HOLD);
    rig.sim.setAll({ behaviour: Behaviour.Answer });
    rig.sim.runFor(1000);
    expect(rig.sim.emitted.slice(4)).toEqual(NORMAL);
    expect(rig.audit('rejoin')).toEqual([]);
    expect(rig.audit('guard')[1]).toMatch(/action=release others=0 min=1 reason=auto/);
  });

  it('without a view decides alone (whenUnknown local), or holds (whenUnknown hold)', () => {
    const view = new FakeView();
    view.isKnown = false;
    const local = guardRig({}, view);
    local.sim.runFor(2000);
    local.sim.setAll({ behaviour: Behaviour.Silent });
    local.sim.runFor(2000);
    expect(local.sim.emitted.slice(2)).toEqual(WITHDRAW);
    const hold = guardRig({ fleet: { whenUnknown: 'hold' } }, view);
    hold.sim.runFor(2000);
    hold.sim.setAll({ behaviour: Behaviour.Silent });
    hold.sim.runFor(2000);
    expect(hold.sim.emitted.slice(2)).toEqual(HOLD);
    expect(hold.audit('guard')).toEqual([
      'service=dns action=hold others=unknown min=1 reason=unknown',
    ]);
    // The ExaBGP announcer has no view at all: the same as unknown.
    const none = guardRig({ fleet: { whenUnknown: 'hold' } }, null);
    none.sim.runFor(2000);
    none.sim.setAll({ behaviour: Behaviour.Silent });
    none.sim.runFor(2000);
    expect(none.sim.emitted.slice(2)).toEqual(HOLD);
  });

  it('holds on the panic threshold: most backbone targets fail while the local check passes', () => {
    const panic = guardRig({ fleet: null, guard: { panicFraction: 0.6 }, local: true }, null);
    panic.sim.runFor(2000);
    expect(panic.sim.emitted).toEqual(WITHDRAW.map((line) => line.replace('withdraw', 'announce')));
    for (let target = 0; target < 3; target++)
      panic.sim.setTarget(target, { behaviour: Behaviour.Silent });
    panic.sim.runFor(2000);
    expect(panic.sim.emitted.slice(2)).toEqual([
      'announce route 192.0.2.53/32 next-hop self',
      'announce route 2001:db8:53::/48 next-hop self',
    ]);
    expect(panic.lifeline.effective[0]).toBe(3);
    expect(panic.audit('guard')).toEqual([
      'service=dns action=hold others=unknown min=1 reason=panic',
    ]);
    // The local service fails too: not a common-mode fault of the backbone, so it goes (urgent).
    panic.sim.setTarget(3, { behaviour: Behaviour.Rcode, rcode: 2 });
    panic.sim.runFor(2000);
    expect(panic.sim.emitted.slice(4)).toEqual(WITHDRAW);
    // Below the fraction (one target of three, quorum 3): withdrawn as before.
    const partial = guardRig(
      { fleet: null, guard: { panicFraction: 0.6 }, local: true, quorum: 3 },
      null,
    );
    partial.sim.runFor(2000);
    partial.sim.setTarget(0, { behaviour: Behaviour.Silent });
    partial.sim.runFor(2000);
    expect(partial.sim.emitted.slice(2)).toEqual(WITHDRAW);
  });

  it('panics at a fraction of 1 only when every backbone target fails, at 2/3 when two of three do', () => {
    // The threshold is "at least panicFraction of the targets": its edge counts.
    const all = guardRig({ fleet: null, guard: { panicFraction: 1 }, local: true }, null);
    all.sim.runFor(2000);
    for (let target = 0; target < 3; target++)
      all.sim.setTarget(target, { behaviour: Behaviour.Silent });
    all.sim.runFor(2000);
    expect(all.lifeline.guard!.panic).toBe(true);
    expect(all.audit('guard')).toEqual([
      'service=dns action=hold others=unknown min=1 reason=panic',
    ]);
    const two = guardRig(
      { fleet: null, guard: { panicFraction: 1 }, local: true, quorum: 3 },
      null,
    );
    two.sim.runFor(2000);
    for (let target = 0; target < 2; target++)
      two.sim.setTarget(target, { behaviour: Behaviour.Silent });
    two.sim.runFor(2000);
    expect(two.lifeline.guard!.panic).toBe(false);
    expect(two.sim.emitted.slice(2)).toEqual(WITHDRAW);
    const twoThirds = guardRig(
      { fleet: null, guard: { panicFraction: 2 / 3 }, local: true, quorum: 3 },
      null,
    );
    twoThirds.sim.runFor(2000);
    for (let target = 0; target < 2; target++)
      twoThirds.sim.setTarget(target, { behaviour: Behaviour.Silent });
    twoThirds.sim.runFor(2000);
    expect(twoThirds.lifeline.guard!.panic).toBe(true);
    expect(twoThirds.audit('guard')[0]).toMatch(/action=hold .* reason=panic$/);
  });

  it('ends the settle exactly settleMs after the fall: the round at that moment withdraws', () => {
    // Rounds every 250 ms, a settle of 1,000: the fall's round plus four rounds.
    const rig = fallenSite({ fleet: { settleMs: 1000 } }, 3, 2000);
    expect(rig.sim.emitted.slice(2, 4)).toEqual(HOLD);
    const guard = rig.lifeline.guard!;
    expect(guard.settleUntilMs[0]! - rig.sim.emittedAtMs[2]!).toBe(1000);
    expect(rig.sim.emitted.slice(4)).toEqual(WITHDRAW);
    expect(rig.sim.emittedAtMs[4]! - rig.sim.emittedAtMs[2]!).toBe(1000);
  });

  it('has nothing to do for a drained service (status guard=off)', () => {
    const rig = guardRig({ drain: true });
    rig.sim.runFor(2000);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(2000);
    expect(rig.sim.emitted.slice(2)).toEqual([
      'announce route 192.0.2.53/32 next-hop self med 900 community [ 65010:1 65010:666 ]',
      'announce route 2001:db8:53::/48 next-hop self med 900 community [ 65010:1 65010:666 ]',
    ]);
    expect(rig.type('status')[0]).toMatch(/state=drained .* guard=off$/);
    expect(rig.audit('guard')).toEqual([]);
  });

  it('lets the operator win: the console asks for confirm before the last site goes, the pin never', () => {
    const rig = guardRig();
    rig.sim.runFor(2000);
    rig.login();
    expect(rig.type('withdraw dns')).toEqual([
      'ERR last-site no other site is known to announce dns: this would take it off the ' +
        'internet; to do it anyway: withdraw dns confirm',
    ]);
    expect(rig.type('withdraw all for 30m')[0]).toMatch(
      /^ERR last-site .* withdraw all for 30m confirm$/,
    );
    expect(rig.sim.emitted).toEqual(NORMAL);
    expect(rig.lifeline.arbiter!.kind[0]).toBe(OverrideKind.None);
    expect(rig.type('withdraw dns confirm')).toEqual(['OK withdraw dns']);
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(rig.audit('override')).toEqual([
      'service=dns override=withdraw last-site=yes by=console',
    ]);
    expect(rig.audit('routes').at(-1)).toBe(
      'service=dns routes=withdrawn cause=override last-site=yes',
    );
    // Another site announces: no question asked, and the audit says nothing of a last site.
    expect(rig.type('auto dns')[0]).toMatch(/^OK/);
    rig.view!.others = 1;
    expect(rig.type('withdraw dns')[0]).toBe('OK withdraw dns');
    expect(rig.audit('override').at(-1)).toBe('service=dns override=withdraw by=console');
    expect(rig.type('withdraw dns confirm announce')[0]).toMatch(/^ERR usage/);
  });

  it('audits an override pin that withdraws the last site, without asking', () => {
    const doc = guardRig();
    doc.sim.runFor(2000);
    // An override pin configured with `"action": "withdraw"` (the rig's config has no pin).
    (doc.lifeline.arbiter! as { pinAction: number }).pinAction = OverrideKind.Withdraw;
    doc.lifeline.setPin(true, 'driver=test');
    expect(doc.sim.emitted.slice(2)).toEqual(WITHDRAW);
    expect(doc.audit('routes').at(-1)).toBe('service=dns routes=withdrawn cause=pin last-site=yes');
  });

  it('spreads automatic re-announcements after a withdrawal by a stable offset, cancelled by a fall', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    const names = Array.from({ length: 200 }, (_, i) => 'edge-' + i + '-dns');
    const offsets = names.map((name) => rejoinOffsetMs(name, 60000));
    expect(offsets.every((ms) => ms >= 0 && ms < 60000 && Number.isInteger(ms))).toBe(true);
    expect(names.map((name) => rejoinOffsetMs(name, 60000))).toEqual(offsets);
    // Evenly spread: every sixth of the window has some, none has more than twice its share.
    const sixths = [0, 0, 0, 0, 0, 0];
    for (const ms of offsets) sixths[Math.floor(ms / 10000)]++;
    expect(Math.min(...sixths)).toBeGreaterThan(10);
    expect(Math.max(...sixths)).toBeLessThan(67);

    const delayMs = rejoinOffsetMs('edge-7', 20000);
    expect(delayMs).toBeGreaterThan(1000);
    const rig = fallenSite(
      { name: 'edge-7', fleet: { rejoinSpreadMs: 20000, settleMs: 0 } },
      5,
      2000,
    );
    expect(rig.sim.emitted.slice(2)).toEqual(WITHDRAW);
    rig.sim.setAll({ behaviour: Behaviour.Answer });
    const restoredMs = rig.sim.clock.nowMs();
    rig.sim.runFor(delayMs + 1000);
    expect(rig.sim.emitted.slice(4)).toEqual(NORMAL);
    const upMs = rig.sim.emittedAtMs[4]! - restoredMs;
    expect(upMs).toBeGreaterThanOrEqual(delayMs);
    expect(upMs).toBeLessThan(delayMs + 1000);
    expect(rig.audit('rejoin')).toEqual(['service=dns delay=' + delayMs + 'ms']);
    expect(rig.audit('routes').at(-1)).toBe('service=dns routes=announced cause=rejoin');
    // A fall during the delay cancels it: nothing is announced.
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(2000);
    rig.sim.setAll({ behaviour: Behaviour.Answer });
    rig.sim.runFor(600);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(delayMs + 2000);
    expect(rig.sim.emitted.slice(6)).toEqual(WITHDRAW);
    expect(rig.audit('rejoin').slice(1)).toEqual([
      'service=dns delay=' + delayMs + 'ms',
      'service=dns cancelled=fall',
    ]);
  });

  it('shows the guard in the metrics', () => {
    const rig = fallenSite({}, 0, 2000);
    const text = renderMetrics({ lifeline: rig.lifeline, speaker: null, auth: null }, 0);
    expect(text).toContain('lifeline_guard_holding{service="dns"} 1');
    expect(text).toContain('lifeline_guard_holds_total{service="dns"} 1');
    expect(text).toContain('lifeline_fleet_view_known{service="dns"} 1');
    expect(text).toContain('lifeline_fleet_healthy_sites{service="dns"} 0');
    expect(text).toContain('lifeline_service_announced{service="dns"} 1');
  });

  it('shows a family no session carries in status and the metrics (its prefixes are not counted)', () => {
    const rig = guardRig();
    rig.sim.runFor(2000);
    const metrics = (): string =>
      renderMetrics({ lifeline: rig.lifeline, speaker: null, auth: null }, 0);
    expect(rig.type('status')[0]).toMatch(/ guard=idle$/);
    expect(metrics()).toContain('lifeline_fleet_family_unseen{service="dns",family="ipv6"} 0');
    rig.view!.unseenFamilies = 2;
    expect(rig.type('status')[0]).toMatch(/ guard=idle unseen=ipv6$/);
    expect(metrics()).toContain('lifeline_fleet_family_unseen{service="dns",family="ipv4"} 0');
    expect(metrics()).toContain('lifeline_fleet_family_unseen{service="dns",family="ipv6"} 1');
    rig.view!.unseenFamilies = 3;
    expect(rig.type('status')[0]).toMatch(/ guard=idle unseen=ipv4,ipv6$/);
  });

  it('audits the fleet view notices once each', () => {
    const rig = guardRig();
    rig.view!.notices.push('fleet peer=10.0.0.9 add-path=no: sees at most one other site');
    rig.sim.runFor(3000);
    expect(rig.audit('fleet')).toEqual([
      'peer=10.0.0.9 add-path=no note="sees at most one other site"',
    ]);
    expect(rig.sim.logged).toContain(
      'fleet peer=10.0.0.9 add-path=no: sees at most one other site',
    );
  });
});

describe('fleet guard: its answers one by one (the mutation run found them unpinned)', () => {
  const ANNOUNCED = 1;
  const WITHDRAWN = 0;
  const LAST_RESORT = 3;

  it('says whether a withdrawal would remove the last announcement the fleet has', () => {
    const rig = guardRig();
    const guard = rig.lifeline.guard!;
    rig.view!.others = 0;
    expect(guard.wouldRemoveLastSite(0, WITHDRAWN)).toBe(false);
    expect(guard.wouldRemoveLastSite(0, UNDECIDED)).toBe(false);
    expect(guard.wouldRemoveLastSite(0, ANNOUNCED)).toBe(true);
    expect(guard.wouldRemoveLastSite(0, LAST_RESORT)).toBe(true);
    rig.view!.others = 1;
    expect(guard.wouldRemoveLastSite(0, ANNOUNCED)).toBe(false);
    rig.view!.isKnown = false;
    expect(guard.wouldRemoveLastSite(0, ANNOUNCED)).toBe(true);
    const blind = guardRig({ fleet: { whenUnknown: 'hold' } }, null).lifeline.guard!;
    expect(blind.wouldRemoveLastSite(0, ANNOUNCED)).toBe(true);
  });

  it('audits why a hold ends, and marks only a withdrawal by an operator of the last site', () => {
    const rig = guardRig();
    const guard = rig.lifeline.guard!;
    rig.view!.others = 0;
    expect(guard.routesChanged(0, LAST_RESORT, WITHDRAWN, 'guard')).toBe('');
    expect(guard.routesChanged(0, LAST_RESORT, ANNOUNCED, 'auto')).toBe('');
    expect(guard.routesChanged(0, LAST_RESORT, WITHDRAWN, 'override')).toBe(' last-site=yes');
    expect(guard.routesChanged(0, ANNOUNCED, WITHDRAWN, 'pin')).toBe(' last-site=yes');
    expect(guard.routesChanged(0, ANNOUNCED, WITHDRAWN, 'auto')).toBe('');
    expect(guard.routesChanged(0, ANNOUNCED, LAST_RESORT, 'override')).toBe('');
    expect(guard.routesChanged(0, WITHDRAWN, WITHDRAWN, 'override')).toBe('');
    expect(rig.audit('guard').map((record) => record.split(' ').pop())).toEqual([
      'reason=fleet',
      'reason=auto',
      'reason=override',
      'reason=none',
    ]);
  });

  it('audits a notice without a note as it is, and each notice once however many rounds pass', () => {
    const rig = guardRig();
    rig.view!.notices.push('fleet peer=10.0.0.9 state=idle');
    rig.sim.runFor(2000);
    rig.view!.notices.push('fleet peer=10.0.0.8 add-path=no: one site at most');
    rig.sim.runFor(2000);
    expect(rig.audit('fleet')).toEqual([
      'peer=10.0.0.9 state=idle',
      'peer=10.0.0.8 add-path=no note="one site at most"',
    ]);
  });

  it('counts each hold once, and starts none for a drained service', () => {
    const rig = fallenSite({}, 0, 2000);
    expect(rig.lifeline.guard!.holds[0]).toBe(1);
    rig.sim.runFor(10000);
    expect(rig.lifeline.guard!.holds[0]).toBe(1);
    const settled = fallenSite({ fleet: { settleMs: 1000 } }, 3, 4000);
    expect(settled.lifeline.guard!.holds[0]).toBe(1);
    const drained = guardRig({ drain: true });
    drained.sim.runFor(2000);
    drained.sim.setAll({ behaviour: Behaviour.Silent });
    drained.sim.runFor(2000);
    expect(drained.lifeline.guard!.holds[0]).toBe(0);
    expect(drained.lifeline.guard!.evaluate(0)).toBe(false);
    expect(drained.lifeline.guard!.others[0]).toBe(-1);
  });

  it('settles only a fall from announced, not the first decision at boot', () => {
    const rig = guardRig({ fleet: { settleMs: 60000 } });
    rig.view!.others = 3;
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(3000);
    expect(rig.sim.emitted).toEqual(WITHDRAW);
    expect(rig.lifeline.guard!.settleUntilMs[0]).toBe(-Infinity);
  });

  it('keeps the earliest pending rejoin of several services, and hands them out in turn', () => {
    const rig = guardRig({ name: 'edge-7', fleet: { rejoinSpreadMs: 20000 } });
    const guard = rig.lifeline.guard!;
    (guard as unknown as { setRejoin(s: number, atMs: number): void }).setRejoin(0, 5000);
    expect(guard.rejoinNextMs[0]).toBe(5000);
    expect(guard.rejoinDue(4999)).toBe(-1);
    expect(guard.rejoinDue(5000)).toBe(0);
    expect(guard.rejoinNextMs[0]).toBe(Infinity);
    expect(guard.rejoinDue(6000)).toBe(-1);
  });
});
