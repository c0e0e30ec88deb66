// `lifeline lab` (`npm start`): the real firmware with the Node HAL probes three simulated data
// centres (DNS responders on loopback), and its ExaBGP lines go to an in-process route collector.
// The lab cuts the backbone (every responder silent), waits for the withdrawal, restores it and
// waits for the re-announcement, then prints the timeline with measured times. Exit 0 only when
// every step happened.

import { performance } from 'node:perf_hooks';

import { ExaBgpAnnouncer } from '../firmware/announcer';
import { readConfig, type Config } from '../firmware/config';
import { Lifeline } from '../firmware/lifeline';
import { NodeHal } from '../hal/node/index';
import { DnsResponder } from './responder';

const INTERVAL_MS = 100;
const TIMEOUT_MS = 80;
const FALL = 3;
const RISE = 2;

function labConfig(ports: readonly number[]): Config {
  const names = ['prn', 'ash', 'lla'];
  const result = readConfig({
    device: { name: 'lab-edge-1' },
    probe: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS },
    services: [
      {
        name: 'dns',
        prefixes: ['192.0.2.53/32', '2001:db8:53::/48'],
        backbone: {
          quorum: 2,
          targets: ports.map((port, i) => ({
            name: names[i],
            kind: 'dns',
            address: '127.0.0.1',
            port,
            query: 'health.example.',
          })),
        },
        rise: RISE,
        fall: FALL,
        holdDownMs: 500,
      },
    ],
    announcer: { kind: 'exabgp' },
  });
  if (result.config === null) throw new Error('lab config invalid: ' + result.errors.join('; '));
  return result.config;
}

/** Waits until `check()` is true, polling every 2 ms; false after `limitMs`. */
async function waitFor(check: () => boolean, limitMs: number): Promise<boolean> {
  const end = performance.now() + limitMs;
  while (!check()) {
    if (performance.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

export async function lab(args: readonly string[]): Promise<number> {
  const scenario = args[0] === '--scenario' ? (args[1] ?? '') : 'outage';
  if (scenario !== 'outage') {
    process.stderr.write('lab: unknown scenario "' + scenario + '" (known: outage)\n');
    return 2;
  }
  const responders = await Promise.all(
    [0, 1, 2].map(() => DnsResponder.start({ address: '127.0.0.1' })),
  );
  const config = labConfig(responders.map((responder) => responder.port));
  const routes: string[] = [];
  const log: string[] = [];
  const hal = new NodeHal({ emit: (line) => routes.push(line), log: (line) => log.push(line) });
  const lifeline = new Lifeline(config, hal, new ExaBgpAnnouncer(config, hal));
  const announced = (): boolean =>
    routes.length > 0 && routes[routes.length - 1]!.startsWith('announce');
  const t0 = performance.now();
  const timeline: string[] = [];
  const mark = (text: string): void => {
    timeline.push(('+' + Math.round(performance.now() - t0) + ' ms').padStart(10) + '  ' + text);
  };
  const bound = TIMEOUT_MS + (FALL - 1) * INTERVAL_MS;
  let ok = true;
  lifeline.start();
  mark('firmware started: 3 data centres on loopback, quorum 2, rise ' + RISE + ', fall ' + FALL);
  ok = ok && (await waitFor(announced, 5000));
  mark(ok ? 'announced: ' + routes.join(', ') : 'FAILED: no announcement');
  const cutAt = performance.now();
  for (const responder of responders) responder.silent = true;
  mark('backbone cut: every data centre silent');
  ok = ok && (await waitFor(() => !announced(), 5000));
  const detectMs = performance.now() - cutAt;
  mark(
    ok
      ? 'withdrawn after ' +
          detectMs.toFixed(1) +
          ' ms (bound from the first unanswered probe: ' +
          bound +
          ' ms, plus up to one interval of phase)'
      : 'FAILED: no withdrawal',
  );
  const restoreAt = performance.now();
  for (const responder of responders) responder.silent = false;
  mark('backbone restored');
  ok = ok && (await waitFor(announced, 5000));
  mark(
    ok
      ? 're-announced after ' +
          (performance.now() - restoreAt).toFixed(1) +
          ' ms (rise ' +
          RISE +
          ', hold-down 500 ms)'
      : 'FAILED: no re-announcement',
  );
  lifeline.stop();
  hal.stopTimer();
  await Promise.all(responders.map((responder) => responder.close()));
  process.stdout.write(
    'Lifeline lab: the October 2021 outage, replayed on loopback\n\n' +
      timeline.join('\n') +
      '\n\nfirmware log:\n' +
      log.map((line) => '  ' + line).join('\n') +
      '\n\n' +
      (ok ? 'PASS' : 'FAIL') +
      '\n',
  );
  return ok ? 0 : 1;
}
