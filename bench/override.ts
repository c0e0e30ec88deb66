// The override benchmark: from a console line (its bytes arriving at the console) and from a pin
// edge (a write to the sysfs-style value file, seen by inotify or the poll, debounce 0) to the
// UPDATE received by a BGP peer on loopback, through the whole firmware (node HAL, built-in
// speaker).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Authenticator } from '../firmware/auth';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import { SessionState } from '../firmware/bgp/session';
import { readConfig } from '../config/validate';
import { Console } from '../firmware/console';
import { Lifeline } from '../firmware/lifeline';
import { NodeHal } from '../hal/node/index';
import { createPinReader, PinWatcher } from '../appliance/pin';
import { speakerBenchConfig, Peer, type Timings } from './bgp';

const CHANGES = 300;

/** A firmware on the node HAL, BGP to a loopback peer, its service down (its target refuses). */
async function rig(pinPath: string) {
  const peer = new Peer();
  const port = await peer.listen();
  const result = readConfig(
    speakerBenchConfig(
      port,
      '127.0.0.1',
      { rise: 1, fall: 1, holdDownMs: 0 },
      {
        probe: { intervalMs: 1000, timeoutMs: 500 },
        overridePin: { driver: 'sysfs', path: pinPath, debounceMs: 0 },
      },
    ),
  );
  if (result.config === null) throw new Error(result.errors.join('\n'));
  const hal = new NodeHal({ log: () => {}, emit: () => {} });
  const speaker = new BgpSpeaker(result.config, hal);
  const lifeline = new Lifeline(result.config, hal, speaker);
  lifeline.start();
  const started = performance.now();
  while (
    speaker.sessions[0]!.state !== SessionState.Established ||
    lifeline.engine.state[0] !== 2
  ) {
    if (performance.now() - started > 10000)
      throw new Error('bench: no session, or the service never fell');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { peer, hal, lifeline, config: result.config };
}

/** A console whose operator has already authenticated (the benches time commands, not logins). */
export function operatorConsole(hal: NodeHal, lifeline: Lifeline): Console {
  const auth = new Authenticator(hal, lifeline.audit, null, []);
  auth.authenticated = true;
  return new Console({ lifeline, auth, write: () => {}, bgpSummary: () => '', drill: null });
}

/** Times `count` changes: each `act(i)` must make exactly one UPDATE reach the peer. */
async function time(peer: Peer, count: number, act: (i: number) => void): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const arrived = peer.next();
    const t0 = performance.now();
    act(i);
    await arrived;
    samples.push(performance.now() - t0);
  }
  return samples;
}

export async function measureOverrides(): Promise<Timings[]> {
  const pinPath = join(mkdtempSync(join(tmpdir(), 'lifeline-bench-')), 'pin');
  writeFileSync(pinPath, '0');
  const { peer, hal, lifeline, config } = await rig(pinPath);
  const console_ = operatorConsole(hal, lifeline);
  const lines = [Buffer.from('announce all\r\n'), Buffer.from('auto all\r\n')];
  const byConsole = await time(peer, CHANGES, (i) =>
    console_.receive(lines[i % 2]!, 0, lines[i % 2]!.length),
  );
  const pin = config.overridePin!;
  const watcher = new PinWatcher(
    pin,
    createPinReader(pin, null),
    (asserted, detail) => lifeline.setPin(asserted, detail),
    () => {},
  );
  const byPin = await time(peer, CHANGES / 3, (i) =>
    writeFileSync(pinPath, i % 2 === 0 ? '1' : '0'),
  );
  watcher.stop();
  lifeline.stop();
  hal.stopTimer();
  peer.close();
  return [
    { name: 'console line -> UPDATE received by peer', samplesMs: byConsole },
    { name: 'pin edge (file write) -> UPDATE received', samplesMs: byPin },
  ];
}
