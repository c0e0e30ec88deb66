// A reload's table work (appliance/reload-tables.ts) and the ExaBGP announcer's part of it, on the
// sim HAL with virtual time: a kept service's state carried over by name and not one line for it
// on ExaBGP's channel, a removed one withdrawn, an added one announced only after its `rise`, a
// changed attribute sent as one new line, a changed target probed from the next round, overrides
// carried, the reload held back while a round is out; the console's `reload` command. The real
// process against real routers is test/integration/reload-bird.test.ts.

import { describe, expect, it } from 'vitest';

import { restartProblems } from '../../appliance/reload';
import { betweenRounds, reloadLifeline } from '../../appliance/reload-tables';
import { readConfig } from '../../config/validate';
import { ExaBgpAnnouncer } from '../../firmware/announcer';
import type { Config } from '../../firmware/config';
import { AutoState } from '../../firmware/decision';
import { Lifeline } from '../../firmware/lifeline';
import { OverrideKind } from '../../firmware/override';
import { Behaviour, SimHal } from '../../hal/sim/index';
import { consoleRig } from '../support/console-rig';

/** A service on its own targets (10.0.N.1 and .2), announcing 192.0.2.N/32. */
function service(name: string, n: number, extra: Record<string, unknown> = {}) {
  const target = (i: number) => ({
    name: 'dc' + i,
    kind: 'dns',
    address: '10.0.' + n + '.' + i,
    query: 'probe.test.',
  });
  return {
    name,
    prefixes: ['192.0.2.' + n + '/32'],
    backbone: { quorum: 1, targets: [target(1), target(2)] },
    rise: 3,
    fall: 2,
    ...extra,
  };
}

function configOf(services: unknown[], probe = { intervalMs: 1000, timeoutMs: 500 }): Config {
  const result = readConfig({
    device: { name: 'sim' },
    probe,
    services,
    announcer: { kind: 'exabgp' },
  });
  if (result.config === null) throw new Error(result.errors.join('\n'));
  return result.config;
}

function rig(services: unknown[]) {
  const config = configOf(services);
  const sim = new SimHal({ socketsMax: 32, seed: 3 });
  const lifeline = new Lifeline(config, sim, new ExaBgpAnnouncer(config, sim));
  lifeline.start();
  sim.runFor(3500);
  return { sim, lifeline, lines: () => sim.emitted.slice() };
}

describe('reload', () => {
  it('keeps an unchanged service untouched, withdraws a removed one, announces an added one after its rise', () => {
    const { sim, lifeline } = rig([service('dns', 1), service('web', 2)]);
    expect(sim.emitted).toEqual([
      'announce route 192.0.2.1/32 next-hop self',
      'announce route 192.0.2.2/32 next-hop self',
    ]);
    const transitions = lifeline.engine.transitions[0]!;
    const from = sim.emitted.length;
    betweenRounds(lifeline, (nowMs) =>
      reloadLifeline(lifeline, configOf([service('dns', 1), service('ntp', 3)]), nowMs),
    );
    sim.runFor(1);
    expect(lifeline.names).toEqual(['dns', 'ntp']);
    expect(sim.emitted.slice(from)).toEqual(['withdraw route 192.0.2.2/32 next-hop self']);
    expect(lifeline.engine.state[0]).toBe(AutoState.Up);
    expect(lifeline.engine.transitions[0]).toBe(transitions);
    expect(lifeline.engine.state[1]).toBe(AutoState.Init);
    // ntp: rise 3 at 1000 ms: nothing for two more rounds, then announced.
    sim.runFor(1500);
    expect(sim.emitted.slice(from)).toHaveLength(1);
    sim.runFor(1500);
    expect(sim.emitted.slice(from)).toEqual([
      'withdraw route 192.0.2.2/32 next-hop self',
      'announce route 192.0.2.3/32 next-hop self',
    ]);
  });

  it('sends a changed attribute as one new line, and probes changed targets from the next round', () => {
    const { sim, lifeline } = rig([service('dns', 1), service('web', 2)]);
    const from = sim.emitted.length;
    // web now on targets that never answer (the sim's socket 4 and 5 are new addresses).
    const moved = service('web', 2, { med: 50 });
    moved.backbone.targets = moved.backbone.targets.map((t) => ({
      ...t,
      address: '10.0.9.' + t.name.slice(2),
    }));
    betweenRounds(lifeline, (nowMs) =>
      reloadLifeline(lifeline, configOf([service('dns', 1), moved]), nowMs),
    );
    sim.runFor(1);
    expect(sim.emitted.slice(from)).toEqual(['announce route 192.0.2.2/32 next-hop self med 50']);
    sim.setAll({ behaviour: Behaviour.Silent });
    sim.setTarget(0, { behaviour: Behaviour.Answer });
    sim.setTarget(1, { behaviour: Behaviour.Answer });
    sim.runFor(2500);
    expect(sim.emitted.slice(from)).toEqual([
      'announce route 192.0.2.2/32 next-hop self med 50',
      'withdraw route 192.0.2.2/32 next-hop self',
    ]);
    expect(lifeline.probes.targets.map((target) => target.address!.text)).toEqual([
      '10.0.1.1',
      '10.0.1.2',
      '10.0.9.1',
      '10.0.9.2',
    ]);
  });

  it('carries a console override by name, and waits for the round out', () => {
    const { sim, lifeline } = rig([service('web', 2), service('dns', 1)]);
    lifeline.setOverride(1, OverrideKind.Withdraw, Infinity, 'test');
    const from = sim.emitted.length;
    // A round is out at 4000 ms until its answers: the reload waits for them.
    sim.runUntil(4000);
    expect(lifeline.roundActive).toBe(true);
    let appliedAtMs = -1;
    betweenRounds(lifeline, (nowMs) => {
      appliedAtMs = nowMs;
      reloadLifeline(lifeline, configOf([service('dns', 1)]), nowMs);
    });
    expect(appliedAtMs).toBe(-1);
    sim.runFor(600);
    expect(appliedAtMs).toBeGreaterThan(4000);
    expect(lifeline.arbiter!.kind[0]).toBe(OverrideKind.Withdraw);
    expect(sim.emitted.slice(from)).toEqual(['withdraw route 192.0.2.2/32 next-hop self']);
  });

  it('names what only a restart can change', () => {
    const base = configOf([service('dns', 1)]);
    const renamed = readConfig({
      device: { name: 'other' },
      services: [service('dns', 1)],
      announcer: { kind: 'exabgp', onShutdown: 'keep' },
    }).config!;
    expect(restartProblems(base, base)).toEqual([]);
    expect(restartProblems(base, renamed)).toEqual([
      'device: changed: takes a restart (systemctl restart lifeline), not a reload',
      'announcer.onShutdown: changed: takes a restart (systemctl restart lifeline), not a reload',
    ]);
  });

  it('is a console command of its own (authenticated): its problems as INFO, then OK or ERR', () => {
    let problems: string[] = [];
    const { type, login } = consoleRig(undefined, undefined, undefined, {
      reload: (info, done) => {
        for (const problem of problems) info(problem);
        done(problems.length === 0);
      },
    });
    expect(type('reload\r')).toEqual([
      'ERR auth-required reload needs an authenticated session: auth first',
    ]);
    login(); // asserts OK authenticated
    expect(type('reload\r')).toEqual(['OK reload applied']);
    problems = ['services[0].rise: 0 must be an integer from 1 to 1000'];
    expect(type('reload\r')).toEqual([
      'INFO services[0].rise: 0 must be an integer from 1 to 1000',
      'ERR reload-refused the running config stays',
    ]);
    expect(type('help\r')).toContain(
      'INFO reload                               read the config again and apply it (needs auth)',
    );
  });
});
