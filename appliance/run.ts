// `lifeline run`: the firmware on this Linux host, with the Node HAL. The config is validated
// before anything starts (secrets open to others refused, as ssh does), and the state directory is
// locked: one `run` per stateDir. SIGTERM, SIGINT and SIGQUIT stop the loop, withdraw (or keep) the
// routes and exit 0; SIGHUP reloads the config (appliance/reload.ts); every other signal that would
// end a Node process and can be handled is audited and ignored, so that no signal an operator
// sends ends it without the shutdown path (docs/reference.md, "Signals").

import { fstatSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { ExaBgpAnnouncer, type Announcer } from '../firmware/announcer';
import { Authenticator } from '../firmware/auth';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import { Console } from '../firmware/console';
import { type Config } from '../firmware/config';
import { DEFAULTS } from '../config/validate';
import { Lifeline } from '../firmware/lifeline';
import type { Hal } from '../firmware/hal';
import { NodeHal } from '../hal/node/index';
import {
  loadKey,
  loadRecoveryHashes,
  openSerialConsole,
  openStdioConsole,
  type ConsoleTransport,
} from './console';
import { runDrill } from './drill';
import type { ExecChecks } from './exec-checks';
import { ExaBgpFleet, ExaBgpFleetAnnouncer } from './exabgp-fleet';
import { createPinReader, PinWatcher, SerialSignalReader } from './pin';
import type { MetricsSources } from './metrics';
import type { ConfigPaths } from './config-files';
import { lockStateDir } from './state-lock';
import { ServiceWatchdog } from './systemd';

/** The signals that stop Lifeline the clean way: routes withdrawn (or kept), audit flushed. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
/** The signal that reloads the config (as for most daemons: systemd's ExecReload may send it). */
export const RELOAD_SIGNAL = 'SIGHUP';
/**
 * The other signals whose default would end the process (or, SIGUSR1, open Node's inspector to
 * anyone who may signal it): audited and ignored. Not here:
 * SIGPIPE and SIGXFSZ (Node ignores them: the write fails instead), SIGKILL and SIGSTOP (cannot be
 * caught), the fault signals SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS and SIGABRT (a real
 * fault cannot be survived, and SIGABRT is systemd's watchdog ending a wedged loop), and the
 * real-time signals (Node cannot listen to them).
 */
export const IGNORED_SIGNALS = [
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGIO',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGXCPU',
] as const;

function stdinIsPipe(): boolean {
  try {
    // ExaBGP (Python's subprocess) gives a FIFO; a Node parent gives a socketpair.
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

/** What asks for a reload: it reports the problems on `info`, then whether it was applied. */
type Reloader = (by: string, info: (line: string) => void, done: (ok: boolean) => void) => void;

/** The console on `device` ('stdio' or a serial device), with its authenticator. */
function startConsole(
  config: Config,
  hal: NodeHal,
  lifeline: Lifeline,
  speaker: BgpSpeaker | null,
  device: string,
  reload: Reloader,
) {
  const report = (line: string): void =>
    lifeline.audit.record('config', 'problem="' + line.replace(/"/g, "'") + '"');
  const settings = config.console;
  const key = settings?.keyFile ? loadKey(settings.keyFile, report) : null;
  const codes = settings?.recoveryCodesFile
    ? loadRecoveryHashes(settings.recoveryCodesFile, report)
    : [];
  if (key === null && codes.length === 0)
    report('console: no key file and no recovery codes: nobody can authenticate');
  const auth = new Authenticator(
    hal,
    lifeline.audit,
    key,
    codes,
    settings?.idleTimeoutMs ?? DEFAULTS['console.idleTimeoutMs'],
  );
  let transport: ConsoleTransport | null = null;
  const bgpSummary = (): string => {
    if (speaker === null) return 'exabgp';
    return speaker
      .status(hal.clock.nowMs())
      .map((peer) => peer.state)
      .join(',');
  };
  const console_ = new Console({
    lifeline,
    auth,
    bgpSummary,
    write: (line) => transport?.write(line),
    drill: (info) => runDrill(lifeline.config, info),
    reload: (info, done) => reload('console', info, done),
  });
  const onData = (data: Buffer): void => console_.receive(data, 0, data.length);
  const onHangup = (): void => auth.logout('hangup');
  const pin = config.overridePin;
  const signal = pin?.driver === 'serial' && device !== 'stdio' ? new SerialSignalReader() : null;
  transport =
    device === 'stdio'
      ? openStdioConsole(onData, onHangup)
      : openSerialConsole({
          device,
          baud: settings?.baud ?? 115200,
          onData,
          onHangup,
          report: (line) => hal.log(line),
          signal:
            signal === null ? null : { reader: signal, name: pin!.signal as 'cts' | 'dsr' | 'dcd' },
        });
  return { transport, signal, auth };
}

/** The ExaBGP announcer; with `fleet`, ExaBGP's messages on stdin give the guard its view. */
function exabgpAnnouncer(config: Config, hal: Hal, fleet: ExaBgpFleet | null): Announcer {
  return fleet === null
    ? new ExaBgpAnnouncer(config, hal)
    : new ExaBgpFleetAnnouncer(config, hal, fleet.table);
}

/**
 * The metrics server (node:http) is loaded only when configured, after the first round began; a
 * stop before it listens closes it as soon as it does.
 */
function startMetricsLater(
  config: Config,
  sources: MetricsSources,
  report: (line: string) => void,
): { close(): void } {
  const listen = config.metricsListen!;
  let server: { close(): void } | null = null;
  let closed = false;
  import('./metrics-server')
    .then(({ startMetrics }) =>
      startMetrics({ listen, webConfigFile: config.metricsWebConfigFile, sources, report }),
    )
    .then((started) => (closed ? started?.close() : (server = started)))
    .catch((error: Error) => report('metrics: ' + listen + ': ' + error.message));
  return {
    close: () => {
      closed = true;
      server?.close();
    },
  };
}

/** The override pin's watcher, when there is a pin. */
function watchPin(
  config: Config,
  lifeline: Lifeline,
  signal: SerialSignalReader | null,
): PinWatcher | null {
  const pin = config.overridePin;
  return pin === null
    ? null
    : new PinWatcher(
        pin,
        createPinReader(pin, signal),
        (asserted, detail) => lifeline.setPin(asserted, detail),
        (line) => lifeline.audit.record('pin', 'problem="' + line + '"'),
      );
}

/**
 * Takes stateDir's lock. Exits 2 when another lifeline holds it; returns what to audit once the
 * firmware runs (a stale lock taken over, or a lock that cannot be made: run on, and say so).
 */
function lockState(config: Config): string {
  if (config.stateDir === null) return '';
  const lock = lockStateDir(config.stateDir);
  if (lock.held) {
    process.on('exit', lock.release);
    return lock.note;
  }
  if (lock.holderPid !== 0) {
    process.stderr.write(
      'lifeline run: stateDir ' + lock.problem + ': one lifeline per state directory\n',
    );
    process.exit(2);
  }
  return 'stateDir: ' + lock.problem + ': a second lifeline on it would not be noticed';
}

/**
 * Audits and ignores IGNORED_SIGNALS (throttled like any record) from now on; STOP_SIGNALS stop,
 * through `ready`'s function once it is given (one that came before then is taken at that point).
 */
function listenSignals(
  lifeline: Lifeline,
  reload: Reloader,
): { ready(stop: (cause: string) => void): void } {
  let stop: ((cause: string) => void) | null = null;
  let early = '';
  for (const name of STOP_SIGNALS)
    process.on(name, () => (stop === null ? (early = early || name) : stop(name)));
  for (const name of IGNORED_SIGNALS)
    process.on(name, () => lifeline.audit.record('signal', 'name=' + name + ' action=ignored'));
  process.on(RELOAD_SIGNAL, () => {
    lifeline.audit.record('signal', 'name=' + RELOAD_SIGNAL + ' action=reload');
    reload(
      RELOAD_SIGNAL,
      () => {},
      () => {},
    );
  });
  return {
    ready: (given) => {
      stop = given;
      if (early !== '') given(early);
    },
  };
}

/** How long a restart marker stays good: the package's postinst restarts at once after it. */
const RESTART_MARKER_MS = 60000;

/**
 * The marker of a restart (docs/install.md, upgrades): `restarting` in the service's runtime
 * directory (systemd's $RUNTIME_DIRECTORY, /run/lifeline, made at each start and removed at each
 * stop, so a marker counts for one stop at most), written less than a minute ago. The package's
 * postinst writes it before it restarts the service for an upgrade or a downgrade. It counts
 * only where graceful restart keeps the routes at the routers while no Lifeline runs (the
 * built-in speaker with `restartTimeS`); otherwise the stop is what `onShutdown` says. Its path,
 * or null.
 */
function restartAnnounced(config: Config): string | null {
  const runtime = process.env['RUNTIME_DIRECTORY'];
  if (runtime === undefined || runtime === '') return null;
  if (config.announcer.kind !== 'bgp' || config.announcer.restartTimeS === 0) return null;
  const marker = join(runtime.split(':')[0]!, 'restarting');
  try {
    const ageMs = Date.now() - statSync(marker).mtimeMs;
    return Math.abs(ageMs) < RESTART_MARKER_MS ? marker : null;
  } catch {
    return null;
  }
}

/**
 * The reloads (appliance/reload.ts, loaded at the first: `run`'s start-up does not carry it); one
 * at a time, a later one waits for the one under way to be read.
 */
function reloader(paths: ConfigPaths, lifeline: Lifeline, applied: () => void): Reloader {
  const report = (line: string): void => void process.stderr.write(line + '\n');
  return (by, info, done) => {
    import('./reload')
      .then(({ reload }) => {
        const problems = reload({ paths, lifeline, report, applied }, by);
        for (const problem of problems) info(problem);
        done(problems.length === 0);
      })
      .catch((error: Error) => {
        report('lifeline reload: ' + error.message);
        info(error.message);
        done(false);
      });
  };
}

/**
 * The exec targets' commands on their own schedules (appliance/exec-checks.ts, loaded only when
 * the config has an exec target: start-up does not carry it otherwise).
 */
function execChecks(lifeline: Lifeline): { restart(): void; stop(): void } {
  let checks: ExecChecks | null = null;
  let stopped = false;
  return {
    // At the start, and after a reload (the slots may have moved): the schedules made again.
    restart: () => {
      checks?.stop();
      checks = null;
      if (!lifeline.probes.targets.some((target) => target.command !== null)) return;
      const probes = lifeline.probes;
      void import('./exec-checks').then(({ ExecChecks }) => {
        // A stop, or another reload, while it loaded: not started for these slots.
        if (stopped || lifeline.probes !== probes) return;
        checks = new ExecChecks(lifeline);
        checks.start();
      });
    },
    stop: () => {
      stopped = true;
      checks?.stop();
    },
  };
}

export function run(config: Config, consoleDevice: string | null, paths: ConfigPaths): void {
  const device = consoleDevice ?? config.console?.device ?? null;
  if (device === 'stdio' && config.announcer.kind === 'exabgp') {
    process.stderr.write(
      '--console stdio: with announcer "exabgp" stdout is ExaBGP\'s; use a serial device\n',
    );
    process.exit(2);
  }
  const lockNote = lockState(config);
  const hal = new NodeHal({ stateDir: config.stateDir });
  const speaker = config.announcer.kind === 'bgp' ? new BgpSpeaker(config, hal) : null;
  const exabgpFleet = speaker === null && config.fleet !== null ? new ExaBgpFleet(config) : null;
  const lifeline = new Lifeline(config, hal, speaker ?? exabgpAnnouncer(config, hal, exabgpFleet));
  const exec = execChecks(lifeline);
  const reload = reloader(paths, lifeline, exec.restart);
  // Listening before the start: a signal during it is taken when everything is up, not left to
  // its default (which ends the process with no shutdown path).
  const signals = listenSignals(lifeline, reload);
  lifeline.start();
  exec.restart();
  const console_ =
    device === null ? null : startConsole(config, hal, lifeline, speaker, device, reload);
  let stopping = false;
  const problem = (line: string): void =>
    lifeline.audit.record('config', 'problem="' + line.replace(/"/g, "'") + '"');
  if (lockNote !== '') problem(lockNote);
  const metrics =
    config.metricsListen === null
      ? null
      : startMetricsLater(config, { lifeline, speaker, auth: console_?.auth ?? null }, problem);
  const watchdog = new ServiceWatchdog(lifeline, {
    notifySocket: process.env['NOTIFY_SOCKET'] ?? null,
    watchdogMs: Number(process.env['WATCHDOG_USEC'] ?? '0') / 1000,
    device: config.watchdogDevice,
    report: problem,
  });
  watchdog.start();
  const watcher = watchPin(config, lifeline, console_?.signal ?? null);
  const stop = (cause: string): void => {
    if (stopping) return;
    stopping = true;
    const restart = cause === 'SIGTERM' ? restartAnnounced(lifeline.config) : null;
    const withdraw = lifeline.config.announcer.onShutdown === 'withdraw';
    const routes = restart === null && withdraw ? 'withdrawn' : 'kept';
    lifeline.audit.record('stop', 'cause=' + cause + ' routes=' + routes);
    hal.log('signal ' + cause);
    if (restart !== null)
      hal.log('restart announced by ' + restart + ': the routes are left to graceful restart');
    watcher?.stop();
    exec.stop();
    watchdog.stop();
    metrics?.close();
    console_?.transport.close();
    // The process exits once the announcer is done (after a graceful shutdown, if any) and the
    // timer is gone.
    lifeline.stop(() => hal.stopTimer(), restart !== null);
    process.stdin.pause();
  };
  signals.ready(stop);
  // ExaBGP may write acknowledgements to our stdin: read and drop them so that the pipe never
  // fills (with `fleet`, its received UPDATEs and neighbour changes go into the view). A pipe
  // that ends means ExaBGP is gone: stop rather than probe on as an orphan. (Under systemd stdin
  // is /dev/null, not a pipe, and its immediate end means nothing.)
  if (device !== 'stdio' && stdinIsPipe()) {
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => exabgpFleet?.received(chunk)).on('error', () => {});
    process.stdin.on('end', () => stop('stdin-closed'));
  }
  process.stdout.on('error', () => stop('stdout-closed'));
}
