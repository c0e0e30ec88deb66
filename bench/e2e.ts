// The whole path, measured at BIRD's table: detection (the data centres fall silent -> the route is
// gone from BIRD) and override (a console line, or a pin edge -> the route is in BIRD), each over
// many runs. The firmware runs on the node HAL with the built-in speaker; BIRD 2 logs every route
// change with its millisecond timestamp (debug routes), which is what is measured against.

import { closeSync, existsSync, mkdtempSync, openSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BgpSpeaker } from '../firmware/bgp/speaker';
import { readConfig } from '../config/validate';
import { Lifeline } from '../firmware/lifeline';
import { NodeHal } from '../hal/node/index';
import { startDnsmasq, type Dnsmasq } from '../lab/dnsmasq';
import { createPinReader, PinWatcher } from '../appliance/pin';
import { startBird } from '../lab/bird';
import { randomPort } from '../lab/processes';
import type { Timings } from './bgp';
import { operatorConsole } from './override';

export const E2E_INTERVAL_MS = 100;
export const E2E_TIMEOUT_MS = 80;
export const E2E_FALL = 3;
const RUNS = 20;

/** Follows BIRD's log: the wall time (ms) of the next `added` or `removed` line for the prefix. */
class BirdLog {
  private offset = 0;
  private readonly buffer = Buffer.alloc(65536);
  constructor(private readonly path: string) {}
  skip(): void {
    while (this.readLines().length > 0);
  }
  private readLines(): string[] {
    const fd = openSync(this.path, 'r');
    try {
      const length = readSync(fd, this.buffer, 0, this.buffer.length, this.offset);
      const text = this.buffer.toString('utf8', 0, length);
      const end = text.lastIndexOf('\n') + 1;
      this.offset += Buffer.byteLength(text.slice(0, end));
      return text
        .slice(0, end)
        .split('\n')
        .filter((line) => line !== '');
    } finally {
      closeSync(fd);
    }
  }
  async next(change: 'added' | 'removed', prefix: string): Promise<number> {
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      for (const line of this.readLines()) {
        const match = /^(\S+) (\S+) <TRACE> \S+ > (added|removed) \[\w+\] (\S+)/.exec(line);
        if (match !== null && match[3] === change && match[4] === prefix) {
          return new Date(match[1] + 'T' + match[2]).getTime();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error('bench: BIRD never logged ' + change + ' ' + prefix);
  }
}

/** Three data centres on 127.0.0.61-63, BIRD on 127.0.0.2, the pin file at `pinPath`. */
function e2eConfig(port: number, birdPort: number, pinPath: string) {
  return readConfig({
    device: { name: 'bench' },
    probe: { intervalMs: E2E_INTERVAL_MS, timeoutMs: E2E_TIMEOUT_MS },
    services: [
      {
        name: 'dns',
        prefixes: ['192.0.2.53/32'],
        rise: 2,
        fall: E2E_FALL,
        holdDownMs: 0,
        backbone: {
          quorum: 2,
          targets: ['127.0.0.61', '127.0.0.62', '127.0.0.63'].map((address, i) => ({
            name: 'dc' + i,
            kind: 'dns',
            address,
            port,
            query: 'probe.test.',
          })),
        },
      },
    ],
    announcer: {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: '127.0.0.2',
          port: birdPort,
          remoteAs: 65000,
          holdTimeS: 9,
          localAddress: '127.0.0.1',
          nextHopV4: '192.0.2.10',
        },
      ],
    },
    overridePin: { driver: 'sysfs', path: pinPath, debounceMs: 0 },
  });
}

async function rig(pinPath: string) {
  const port = randomPort();
  const servers: Dnsmasq[] = [];
  for (const address of ['127.0.0.61', '127.0.0.62', '127.0.0.63'])
    servers.push(await startDnsmasq(address, port));
  const bird = await startBird({
    address: '127.0.0.2',
    port: randomPort(),
    as: 65000,
    peerAddress: '127.0.0.1',
    peerAs: 65010,
    debugRoutes: true,
  });
  const result = e2eConfig(port, bird.port, pinPath);
  if (result.config === null) throw new Error(result.errors.join('\n'));
  const hal = new NodeHal({ log: () => {}, emit: () => {} });
  const lifeline = new Lifeline(result.config, hal, new BgpSpeaker(result.config, hal));
  lifeline.start();
  const console_ = operatorConsole(hal, lifeline);
  const pin = result.config.overridePin!;
  const watcher = new PinWatcher(
    pin,
    createPinReader(pin, null),
    (on, detail) => lifeline.setPin(on, detail),
    () => {},
  );
  return { servers, bird, hal, lifeline, console: console_, watcher };
}

/** Runs `act` and returns ms from it to BIRD's log of `change`. */
async function timed(log: BirdLog, act: () => void, change: 'added' | 'removed'): Promise<number> {
  log.skip();
  const t0 = Date.now();
  act();
  return (await log.next(change, '192.0.2.53/32')) - t0;
}

export async function measureEndToEnd(): Promise<Timings[] | string> {
  if (!existsSync('/usr/sbin/bird') || !existsSync('/usr/sbin/dnsmasq'))
    return 'BIRD 2 or dnsmasq is not installed';
  const pinPath = join(mkdtempSync(join(tmpdir(), 'lifeline-e2e-')), 'pin');
  writeFileSync(pinPath, '0');
  const lab = await rig(pinPath);
  const log = new BirdLog(join(lab.bird.dir, 'bird.log'));
  await log.next('added', '192.0.2.53/32');
  const detection: number[] = [];
  const firmware: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A random phase between the cut and the probe grid.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * E2E_INTERVAL_MS));
    detection.push(
      await timed(log, () => lab.servers.forEach((server) => server.pause()), 'removed'),
    );
    firmware.push(lab.lifeline.engine.changedAtMs[0]! - lab.lifeline.engine.streakStartMs[0]!);
    await timed(log, () => lab.servers.forEach((server) => server.resume()), 'added');
  }
  lab.servers.forEach((server) => server.pause());
  await log.next('removed', '192.0.2.53/32').catch(() => 0);
  const type = (line: string) => () =>
    lab.console.receive(Buffer.from(line + '\r'), 0, line.length + 1);
  const byConsole: number[] = [];
  const byPin: number[] = [];
  for (let run = 0; run < RUNS * 3; run++) {
    byConsole.push(await timed(log, type('announce all'), 'added'));
    await timed(log, type('auto all'), 'removed');
    byPin.push(await timed(log, () => writeFileSync(pinPath, '1'), 'added'));
    await timed(log, () => writeFileSync(pinPath, '0'), 'removed');
  }
  lab.watcher.stop();
  lab.lifeline.stop();
  lab.hal.stopTimer();
  await lab.bird.stop();
  for (const server of lab.servers) await server.stop();
  return [
    { name: 'silence -> route gone at BIRD (from the cut)', samplesMs: detection },
    { name: 'first unanswered probe -> withdrawal decided', samplesMs: firmware },
    { name: 'console line -> route in BIRD', samplesMs: byConsole },
    { name: 'pin edge -> route in BIRD', samplesMs: byPin },
  ];
}
