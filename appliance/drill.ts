// The outage drill (console `drill`): the device's own services and decision engine, run on the
// simulated network (hal/sim) inside the running firmware, never touching the live routes: the
// backbone is cut, the withdrawal must come within timeoutMs + (fall-1)·intervalMs of the first
// unanswered probe, and after the restore the re-announcement within rise rounds and the hold-down.

import { ExaBgpAnnouncer } from '../firmware/announcer';
import type { Config } from '../firmware/config';
import { Lifeline } from '../firmware/lifeline';
import { Behaviour, SimHal } from '../hal/sim/index';

/**
 * Runs the drill for every service of `config`; INFO lines through `info`; true when all passed.
 */
export function runDrill(config: Config, info: (line: string) => void): boolean {
  const drillConfig: Config = {
    ...config,
    announcer: { ...config.announcer, kind: 'exabgp', peers: [] },
    stateDir: null,
  };
  const sim = new SimHal({ socketsMax: 64, seed: 2021 });
  const storage = sim.storage;
  storage.failing = true; // the drill leaves no trace in storage: its audit stays in memory
  const lifeline = new Lifeline(drillConfig, sim, new ExaBgpAnnouncer(drillConfig, sim));
  lifeline.start();
  let passed = true;
  const settleMs = 60 * drillConfig.intervalMs;
  sim.runFor(settleMs);
  const cutAtMs = sim.timeMs;
  sim.setAll({ behaviour: Behaviour.Silent });
  for (let s = 0; s < drillConfig.services.length; s++) {
    const service = drillConfig.services[s]!;
    const boundMs =
      drillConfig.intervalMs + drillConfig.timeoutMs + (service.fall - 1) * drillConfig.intervalMs;
    sim.runUntil(cutAtMs + boundMs);
    const withdrawn = lifeline.effective[s] !== 1;
    info(
      'drill service=' +
        service.name +
        ' step=cut withdrawn=' +
        (withdrawn ? 'yes' : 'no') +
        ' boundMs=' +
        boundMs +
        ' (first unanswered probe: ' +
        drillConfig.timeoutMs +
        ' + ' +
        (service.fall - 1) +
        'x' +
        drillConfig.intervalMs +
        ', plus one interval of phase)',
    );
    passed = passed && withdrawn;
  }
  const restoreAtMs = sim.timeMs;
  sim.setAll({ behaviour: Behaviour.Answer });
  for (let s = 0; s < drillConfig.services.length; s++) {
    const service = drillConfig.services[s]!;
    const boundMs =
      Math.max(service.holdDownMs, (service.rise + 1) * drillConfig.intervalMs) +
      drillConfig.intervalMs;
    sim.runUntil(restoreAtMs + boundMs);
    const announced = lifeline.effective[s] === 1;
    info(
      'drill service=' +
        service.name +
        ' step=restore announced=' +
        (announced ? 'yes' : 'no') +
        ' boundMs=' +
        boundMs,
    );
    passed = passed && announced;
  }
  lifeline.stop();
  info('drill ' + (passed ? 'passed' : 'failed') + ': simulated, the live routes were not touched');
  return passed;
}
