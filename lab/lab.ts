// `lifeline lab` (`npm start`): the real firmware (node HAL, real UDP sockets, the built-in BGP
// speaker) probes three simulated data centres (DNS responders on loopback) and announces to an
// in-process BGP route collector; the serial console is attached to the terminal. In a terminal it
// is a live view: type console commands, or /cut [DC], /restore [DC], /pin, /quit. With
// --scenario outage (or without a terminal) it plays the October 2021 script unattended and prints
// the timeline: cut -> withdrawal -> override by console -> re-announcement -> restore -> auto.

import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Authenticator, hashCode } from '../firmware/auth';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import { type Config } from '../firmware/config';
import { readConfig } from '../config/validate';
import { Console } from '../firmware/console';
import { Lifeline } from '../firmware/lifeline';
import { NodeHal } from '../hal/node/index';
import { RouteCollector } from './collector';
import { runDrill } from '../appliance/drill';
import { makeCode } from '../operator/keygen';
import { DnsResponder } from './responder';

const NAMES = ['prn', 'ash', 'lla'];
const INTERVAL_MS = 100;
const TIMEOUT_MS = 80;
const FALL = 3;
const RISE = 2;
const PREFIXES = ['192.0.2.53/32', '2001:db8:53::53/128'];

interface Lab {
  readonly responders: DnsResponder[];
  readonly collector: RouteCollector;
  readonly hal: NodeHal;
  readonly lifeline: Lifeline;
  readonly speaker: BgpSpeaker;
  readonly console: Console;
  readonly replies: string[];
  readonly log: string[];
  readonly code: string;
}

function labConfig(ports: readonly number[], collectorPort: number): Config {
  const result = readConfig({
    device: { name: 'lab-edge-1' },
    probe: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS },
    services: [
      {
        name: 'dns',
        prefixes: PREFIXES,
        rise: RISE,
        fall: FALL,
        holdDownMs: 500,
        backbone: {
          quorum: 2,
          targets: ports.map((port, i) => ({
            name: NAMES[i],
            kind: 'dns',
            address: '127.0.0.1',
            port,
            query: 'health.example.',
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
          address: '127.0.0.1',
          port: collectorPort,
          remoteAs: 65000,
          holdTimeS: 9,
          nextHopV4: '192.0.2.10',
          nextHopV6: '2001:db8::10',
        },
      ],
    },
  });
  if (result.config === null) throw new Error('lab config invalid: ' + result.errors.join('; '));
  return result.config;
}

async function startLab(): Promise<Lab> {
  const responders = await Promise.all(
    NAMES.map(() => DnsResponder.start({ address: '127.0.0.1' })),
  );
  const collector = new RouteCollector();
  const config = labConfig(
    responders.map((responder) => responder.port),
    await collector.listen(),
  );
  const log: string[] = [];
  // A state directory of its own, as on an appliance: overrides and used codes persist there.
  const stateDir = mkdtempSync(join(tmpdir(), 'lifeline-lab-'));
  const hal = new NodeHal({ log: (line) => log.push(line), emit: () => {}, stateDir });
  const speaker = new BgpSpeaker(config, hal);
  const lifeline = new Lifeline(config, hal, speaker);
  const code = makeCode();
  const auth = new Authenticator(hal, lifeline.audit, new Uint8Array(randomBytes(32)), [
    hashCode(code),
  ]);
  const replies: string[] = [];
  const console_ = new Console({
    lifeline,
    auth,
    write: (line) => replies.push(line),
    drill: (info) => runDrill(config, info),
    bgpSummary: () =>
      speaker
        .status(hal.clock.nowMs())
        .map((peer) => peer.state)
        .join(','),
  });
  lifeline.start();
  return { responders, collector, hal, lifeline, speaker, console: console_, replies, log, code };
}

async function stopLab(lab: Lab): Promise<void> {
  lab.lifeline.stop();
  lab.hal.stopTimer();
  lab.collector.close();
  await Promise.all(lab.responders.map((responder) => responder.close()));
}

/** Types a line at the console; returns its replies. */
function type(lab: Lab, line: string): string[] {
  const from = lab.replies.length;
  const bytes = Buffer.from(line + '\r');
  lab.console.receive(bytes, 0, bytes.length);
  return lab.replies.slice(from);
}

async function waitFor(check: () => boolean, limitMs: number): Promise<number | null> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > limitMs) return null;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now() - started;
}

/** The October 2021 script, unattended: true when every step happened. */
async function outage(lab: Lab, mark: (text: string) => void): Promise<boolean> {
  const announced = (): boolean => PREFIXES.every((prefix) => lab.collector.routes.has(prefix));
  const withdrawn = (): boolean => PREFIXES.every((prefix) => !lab.collector.routes.has(prefix));
  const step = async (check: () => boolean, text: string, failure: string): Promise<boolean> => {
    const ms = await waitFor(check, 5000);
    mark(ms === null ? 'FAILED: ' + failure : text.replace('%', ms.toFixed(1)));
    return ms !== null;
  };
  if (
    !(await step(
      announced,
      'announced to the route collector after % ms (session, rise ' + RISE + ')',
      'no announcement',
    ))
  )
    return false;
  for (const responder of lab.responders) responder.silent = true;
  mark('BACKBONE CUT: every data centre silent (the maintenance command)');
  const bound = TIMEOUT_MS + (FALL - 1) * INTERVAL_MS;
  if (
    !(await step(
      withdrawn,
      'withdrawn after % ms, as designed (bound ' +
        bound +
        ' ms from the first unanswered ' +
        'probe, plus up to one ' +
        INTERVAL_MS +
        ' ms interval)',
      'no withdrawal',
    ))
  )
    return false;
  mark('operator at the console (no network needed): auth code ' + lab.code);
  const login = type(lab, 'auth code ' + lab.code).join(' ');
  mark('  ' + login);
  const sent = performance.now();
  mark('  ' + type(lab, 'announce all for 10m').join(' '));
  const overridden = (await waitFor(announced, 5000)) !== null;
  mark(
    overridden
      ? 're-announced by the override ' +
          (performance.now() - sent).toFixed(1) +
          ' ms after the command, with the backbone still down'
      : 'FAILED: no override',
  );
  if (!login.startsWith('OK') || !overridden) return false;
  for (const responder of lab.responders) responder.silent = false;
  mark('backbone restored');
  if (
    !(await step(
      () => lab.lifeline.engine.state[0] === 1,
      'automatic decision up again after % ms (rise ' + RISE + ')',
      'no recovery',
    ))
  )
    return false;
  mark('  ' + type(lab, 'auto all').join(' ') + ' (override cleared)');
  return step(
    () => announced() && lab.lifeline.arbiter!.kind[0] === 0,
    'routes stay announced, now automatically (% ms)',
    'routes lost after auto',
  );
}

async function scenario(): Promise<number> {
  const lab = await startLab();
  const t0 = performance.now();
  const timeline: string[] = [];
  const mark = (text: string): void => {
    timeline.push(('+' + Math.round(performance.now() - t0) + ' ms').padStart(10) + '  ' + text);
  };
  mark(
    'firmware started: 3 data centres (' +
      NAMES.join(', ') +
      ') on loopback, quorum 2, BGP to the collector',
  );
  const passed = await outage(lab, mark);
  const audit = lab.lifeline.audit.last(16).map((line) => '  ' + line);
  await stopLab(lab);
  process.stdout.write(
    'Lifeline lab: the October 2021 outage, replayed on loopback\n\n' +
      timeline.join('\n') +
      '\n\naudit log:\n' +
      audit.join('\n') +
      '\n\n' +
      (passed ? 'PASS' : 'FAIL') +
      '\n',
  );
  return passed ? 0 : 1;
}

/** The live view: status redrawn in place, console lines and lab commands typed at the bottom. */
async function interactive(): Promise<number> {
  const lab = await startLab();
  let input = '';
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (done = resolve));
  const command = (line: string): void => {
    const [verb, target] = line.trim().split(/\s+/);
    const chosen = lab.responders.filter((_, i) => target === undefined || NAMES[i] === target);
    if (verb === '/quit') return done(0);
    if (verb === '/cut' || verb === '/restore')
      for (const responder of chosen) responder.silent = verb === '/cut';
    else if (verb === '/pin') lab.lifeline.setPin(!lab.lifeline.arbiter!.pinAsserted, 'driver=lab');
    else if (line.trim() !== '') type(lab, line);
  };
  const redraw = (): void => {
    process.stdout.write('\x1b[H\x1b[2J' + view(lab) + '\n> ' + input);
  };
  process.stdin.setRawMode(true);
  process.stdin.on('data', (data: Buffer) => {
    for (const byte of data) {
      if (byte === 3) return done(0);
      if (byte === 13) {
        command(input);
        input = '';
      } else if (byte === 127 || byte === 8) input = input.slice(0, -1);
      else if (byte >= 32 && byte < 127) input += String.fromCharCode(byte);
    }
    redraw();
  });
  const timer = setInterval(redraw, 250);
  const code = await finished;
  clearInterval(timer);
  process.stdin.setRawMode(false);
  process.stdin.pause();
  await stopLab(lab);
  process.stdout.write('\n');
  return code;
}

function view(lab: Lab): string {
  const nowMs = lab.hal.clock.nowMs();
  const from = lab.replies.length;
  const status = type(lab, 'status')[0] ?? '';
  lab.replies.length = from; // the view's own status line is not part of the operator's transcript
  const probes = lab.lifeline.probes;
  const targets = NAMES.map(
    (name, slot) =>
      '  ' +
      name.padEnd(5) +
      (lab.responders[slot]!.silent ? 'CUT ' : 'up  ') +
      (probes.state[slot] === 2
        ? 'ok ' + probes.statistics!.rttMs[slot]!.toFixed(2) + ' ms'
        : 'failing'),
  );
  const routes = [...lab.collector.routes].map(
    ([prefix, route]) =>
      '  ' + prefix + ' via ' + route.nextHop + (route.med >= 0 ? ' med ' + route.med : ''),
  );
  return [
    'Lifeline lab: type console commands (help) or /cut [prn|ash|lla], /restore [..], /pin, /quit',
    'recovery code for this run: ' + lab.code,
    '',
    status,
    'data centres:',
    ...targets,
    'bgp: ' +
      lab.speaker
        .status(nowMs)
        .map((peer) => peer.peer + ' ' + peer.state)
        .join(', '),
    'route collector:',
    ...(routes.length === 0 ? ['  (no routes)'] : routes),
    '',
    'audit:',
    ...lab.lifeline.audit.last(6).map((line) => '  ' + line.slice(0, 150)),
    '',
    'console:',
    ...lab.replies.slice(-6).map((line) => '  ' + line),
  ].join('\n');
}

export async function lab(args: readonly string[]): Promise<number> {
  const scenarioName = args[0] === '--scenario' ? (args[1] ?? '') : null;
  if (
    (scenarioName !== null && scenarioName !== 'outage' && scenarioName !== 'fleet') ||
    args.length > 2
  ) {
    process.stderr.write(
      'lab: unknown scenario "' + (scenarioName ?? args.join(' ')) + '" (known: outage, fleet)\n',
    );
    return 2;
  }
  // The fleet runs three real `lifeline run` processes: this program, as it was started.
  if (scenarioName === 'fleet')
    return (await import('./fleet-scenario')).fleetScenario(process.argv[1]!);
  if (scenarioName === null && process.stdin.isTTY && process.stdout.isTTY) return interactive();
  return scenario();
}
