// `kind: "exec"` targets (issue 22 item 4) without a process: the config's words for them, the
// board's refusal, the audit's summary of an output, and a round taking an exec slot's last result
// at once on the sim HAL. Real commands (a hung one killed, one run at a time, the output capped)
// are test/integration/exec.test.ts.

import { describe, expect, it } from 'vitest';

import { summary } from '../../appliance/exec-checks';
import { espruinoProblems } from '../../config/board';
import { readConfig } from '../../config/validate';
import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { Lifeline } from '../../firmware/lifeline';
import { ExecResult } from '../../firmware/exec-results';
import { SimHal } from '../../hal/sim/index';

function withTarget(target: unknown) {
  return readConfig({
    device: { name: 'x' },
    services: [
      {
        name: 'dns',
        prefixes: ['192.0.2.1/32'],
        backbone: { quorum: 1, targets: [target] },
        holdDownMs: 0,
      },
    ],
    announcer: { kind: 'exabgp' },
  });
}

const AT = 'services[0].backbone.targets[0]';

describe('exec targets', () => {
  it('are read with their command, interval and time limit', () => {
    const target = withTarget({
      name: 'a',
      kind: 'exec',
      exec: { command: ['/usr/bin/dig', '+short', 'health.'], intervalMs: 2000 },
    }).config!.services[0]!.targets[0]!;
    expect(target).toMatchObject({
      kind: 'exec',
      address: null,
      command: ['/usr/bin/dig', '+short', 'health.'],
      intervalMs: 2000,
      timeoutMs: 5000,
    });
    const plain = withTarget({ name: 'a', kind: 'exec', exec: { command: ['/bin/true'] } });
    expect(plain.config!.services[0]!.targets[0]!.intervalMs).toBe(0); // the probe interval
  });

  it('say what is wrong in PATH: PROBLEM words', () => {
    expect(withTarget({ name: 'a', kind: 'exec' }).errors).toEqual([
      AT + '.exec: must be an object',
    ]);
    expect(
      withTarget({ name: 'a', kind: 'exec', address: '10.0.0.1', exec: { command: ['true'] } })
        .errors,
    ).toEqual([
      AT + '.address: does not apply to "kind": "exec" targets (they run a command)',
      AT + '.exec.command[0]: "true" must be an absolute path (no shell, no PATH search)',
    ]);
    expect(
      withTarget({ name: 'a', kind: 'exec', exec: { command: [], intervalMs: 10, timeoutMs: 5 } })
        .errors,
    ).toEqual([
      AT + '.exec.command: must be a list of 1 to 32 strings: the program and its arguments',
      AT + '.exec.intervalMs: 10 must be an integer from 100 to 3600000',
      AT + '.exec.timeoutMs: 5 must be an integer from 10 to 3600000',
    ]);
    expect(
      withTarget({ name: 'a', kind: 'exec', exec: { command: ['/opt/checks/x', ''] } }).errors,
    ).toEqual([AT + '.exec.command[1]: must be a non-empty string of at most 4096 characters']);
    expect(
      withTarget({ name: 'a', kind: 'tcp', address: '10.0.0.1', port: 1, exec: {} }).errors,
    ).toEqual([AT + '.exec: applies to "kind": "exec" targets only']);
  });

  it('are refused for a board', () => {
    const config = withTarget({
      name: 'a',
      kind: 'exec',
      exec: { command: ['/bin/true'] },
    }).config!;
    expect(espruinoProblems(config)).toEqual([
      AT + '.kind: "exec" is not on Espruino (a board runs no commands)',
    ]);
  });

  it('summarise an output in the audit by its first line, printable and short', () => {
    expect(summary(Buffer.from('\n  \nok: 3 zones\nmore\n'))).toBe('ok: 3 zones');
    expect(summary(Buffer.from('say "hi"\x1b[1m\n'))).toBe("say 'hi'?[1m");
    expect(summary(Buffer.from('x'.repeat(500)))).toBe('x'.repeat(80) + '...');
    expect(summary(Buffer.alloc(0))).toBe('');
  });

  it("answer a round at once with the command's last result", () => {
    const config = withTarget({
      name: 'a',
      kind: 'exec',
      exec: { command: ['/bin/true'] },
    }).config!;
    const sim = new SimHal({ socketsMax: 4, seed: 1 });
    const lifeline = new Lifeline(config, sim, new ExaBgpAnnouncer(config, sim));
    lifeline.start();
    sim.runFor(5000);
    // No run has ended: not healthy (`unreachable`), withdrawn.
    expect(sim.emitted).toEqual(['withdraw route 192.0.2.1/32 next-hop self']);
    expect(lifeline.probes.outcome[0]).toBe(5);
    lifeline.probes.execResults!.result[0] = ExecResult.Healthy;
    lifeline.probes.execResults!.runMs[0] = 12;
    // The round of 5000 ms took the old result; those of 6000, 7000 and 8000 rise.
    sim.runFor(3600);
    expect(sim.emitted.slice(1)).toEqual(['announce route 192.0.2.1/32 next-hop self']);
    expect(lifeline.probes.statistics!.rttMs[0]).toBe(12);
    lifeline.probes.execResults!.result[0] = ExecResult.Failed;
    sim.runFor(3600);
    expect(sim.emitted.slice(2)).toEqual(['withdraw route 192.0.2.1/32 next-hop self']);
    expect(lifeline.probes.outcome[0]).toBe(3); // `rcode`: another exit code
    // The round ended with its answers, not at its time limit.
    expect(lifeline.roundMs[0]).toBe(0);
  });
});
