// A reload of `lifeline run` (SIGHUP, `lifeline reload`, the console's `reload`): the config is
// read again from the same --config and --config-dir, validated as at boot, and applied between
// rounds without a flap (appliance/reload-tables.ts). An invalid config, or one that changes what
// only a restart can (below), changes nothing: its problems go to stderr and to the audit log, and
// lifeline_config_info keeps the running config's hash (docs/reference.md, "Reload").

import type { Config } from '../firmware/config';
import type { Lifeline } from '../firmware/lifeline';
import { betweenRounds, reloadLifeline } from './reload-tables';
import { loadConfig, type ConfigPaths } from './config-files';
import { configHash } from './status-metrics';

/** The keys (top-level, or of `announcer`) that a running lifeline takes only at a restart. */
const RESTART_KEYS = ['device', 'stateDir', 'console', 'overridePin', 'metrics', 'watchdog'];

/** `a` and `b` say the same (parsed addresses compare by text, as JSON writes them). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What `next` changes that a reload cannot: each as `PATH: PROBLEM`, as the validator writes them.
 * The announcer's kind and identity, the fleet guard (its view is sized by the prefixes), a peer
 * that listens (its listener is shared), peers while BFD runs (a BFD session gone down takes its
 * BGP session with it), the state directory, the console, the pin, the metrics server.
 */
export function restartProblems(running: Config, next: Config): string[] {
  const problems: string[] = [];
  const restart = (path: string): void => {
    problems.push(path + ': changed: takes a restart (systemctl restart lifeline), not a reload');
  };
  const keyed = (config: Config): Record<string, unknown> => ({
    device: config.deviceName,
    stateDir: config.stateDir,
    console: config.console,
    overridePin: config.overridePin,
    metrics: [config.metricsListen, config.metricsWebConfigFile],
    watchdog: config.watchdogDevice,
  });
  const a = keyed(running);
  const b = keyed(next);
  for (const key of RESTART_KEYS) if (!same(a[key], b[key])) restart(key);
  if (running.announcer.kind !== next.announcer.kind) restart('announcer.kind');
  if (running.announcer.onShutdown !== next.announcer.onShutdown) restart('announcer.onShutdown');
  const guarded = (config: Config): boolean => config.fleet !== null || config.guard !== null;
  if (guarded(running) || guarded(next)) {
    if (!same(running.fleet, next.fleet)) restart('fleet');
    if (!same(running.guard, next.guard)) restart('guard');
    if (!same(running.services, next.services) || !same(running.announcer, next.announcer))
      problems.push('services: a change takes a restart while fleet or guard is configured');
  }
  const peers = (config: Config) => config.announcer.peers;
  const bfd = (config: Config): boolean => peers(config).some((peer) => peer.bfd !== null);
  if ((bfd(running) || bfd(next)) && !same(peers(running), peers(next)))
    restart('announcer.peers (with bfd)');
  const passive = (config: Config) => peers(config).filter((peer) => peer.passive);
  if (!same(passive(running), passive(next))) restart('announcer.peers (passive)');
  return problems;
}

export interface ReloadOptions {
  readonly paths: ConfigPaths;
  readonly lifeline: Lifeline;
  /** A line for stderr (the journal). */
  readonly report: (line: string) => void;
  /** Runs once a reload is applied (the exec targets' schedules are made again). */
  readonly applied?: () => void;
}

/** Quotes `text` for an audit record's `key="..."`. */
function quoted(text: string): string {
  return '"' + text.replace(/"/g, "'") + '"';
}

/**
 * Reloads: reads and validates, then applies between rounds. Returns the problems (none: it is
 * applied, at once or when the round out completes). `by`: what asked (`SIGHUP`, `console`).
 */
export function reload(options: ReloadOptions, by: string): readonly string[] {
  const { lifeline, report } = options;
  const askedAtMs = lifeline.hal.clock.nowMs();
  const loaded = loadConfig(options.paths);
  const problems =
    loaded.config === null ? loaded.errors : restartProblems(lifeline.config, loaded.config);
  if (problems.length > 0) {
    for (const problem of problems) {
      report('lifeline reload: ' + problem);
      lifeline.audit.record('reload', 'result=refused by=' + by + ' problem=' + quoted(problem));
    }
    report('lifeline reload: refused, the running config (' + configHash(lifeline) + ') stays');
    return problems;
  }
  const config = loaded.config!;
  betweenRounds(lifeline, (nowMs) => {
    const summary = reloadLifeline(lifeline, config, nowMs);
    options.applied?.();
    const appliedAtMs = lifeline.hal.clock.nowMs();
    const list = (names: readonly string[]): string => (names.length === 0 ? '-' : names.join(','));
    lifeline.audit.record(
      'reload',
      'result=applied by=' +
        by +
        ' hash=' +
        configHash(lifeline) +
        ' added=' +
        list(summary.added) +
        ' removed=' +
        list(summary.removed) +
        ' changed=' +
        list(summary.changed) +
        ' peers-kept=' +
        summary.peers.kept +
        ' peers-restarted=' +
        summary.peers.restarted +
        ' waitedMs=' +
        Math.round(nowMs - askedAtMs) +
        ' applyMs=' +
        (appliedAtMs - nowMs).toFixed(1),
    );
  });
  return [];
}
