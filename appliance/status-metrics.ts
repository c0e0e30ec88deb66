// The metrics an operator's fleet view and alerting rules need beyond the counters of metrics.ts:
// which build and which config each appliance runs (so that drift shows across a fleet), and each
// service's state with the reason and time of its last transition and the time left on a console
// override. Read at scrape time, like the rest; appended by renderMetrics.

import { createHash } from 'node:crypto';

import { ROUTE_STATE_NAMES } from '../firmware/announcer';
import { AUTO_STATE_NAMES, REASON_NAMES } from '../firmware/decision';
import type { Lifeline } from '../firmware/lifeline';
import { UNDECIDED } from '../firmware/override';

/** Set by the build (esbuild define) from package.json; absent when the sources run unbuilt. */
declare const LIFELINE_VERSION: string | undefined;

export const VERSION = typeof LIFELINE_VERSION === 'string' ? LIFELINE_VERSION : 'dev';

/** What the status families write through: metrics.ts's Writer. */
export interface MetricsOutput {
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void;
  sample(name: string, labels: Record<string, string>, value: number): void;
}

const hashes = new WeakMap<object, string>();

/**
 * The first 16 hex digits of the SHA-256 of the validated config as JSON: the same for the same
 * settings however the files are laid out (one file or drop-ins, services in any order: they are
 * taken by name), different when any setting differs.
 */
export function configHash(lifeline: Lifeline): string {
  let hash = hashes.get(lifeline.config);
  if (hash === undefined) {
    const services = [...lifeline.config.services].sort((a, b) => (a.name < b.name ? -1 : 1));
    const json = JSON.stringify({ ...lifeline.config, services }, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
    );
    hash = createHash('sha256').update(json).digest('hex').slice(0, 16);
    hashes.set(lifeline.config, hash);
  }
  return hash;
}

/** The route state of service `s` as the announcer last had it, or `undecided` before boot's. */
function routesName(lifeline: Lifeline, s: number): string {
  const effective = lifeline.effective[s]!;
  return effective === UNDECIDED ? 'undecided' : ROUTE_STATE_NAMES[effective]!;
}

/** Build, config and per-service status families. `wallMs` is the wall clock at `nowMs`. */
export function statusMetrics(
  out: MetricsOutput,
  lifeline: Lifeline,
  nowMs: number,
  wallMs: number,
): void {
  out.family('build_info', 'gauge', 'Always 1: the running release in the version label.');
  out.sample('build_info', { version: VERSION }, 1);
  out.family(
    'config_info',
    'gauge',
    'Always 1: the device name and a hash of the running config (drift shows as differing hashes).',
  );
  out.sample('config_info', { device: lifeline.config.deviceName, hash: configHash(lifeline) }, 1);
  const engine = lifeline.engine;
  out.family(
    'service_status_info',
    'gauge',
    'Always 1: the automatic state, the routes and the reason of the last transition.',
  );
  for (let s = 0; s < lifeline.names.length; s++) {
    const labels = {
      service: lifeline.names[s]!,
      auto: AUTO_STATE_NAMES[engine.state[s]!]!,
      routes: routesName(lifeline, s),
      reason: REASON_NAMES[engine.reason[s]!]!,
    };
    out.sample('service_status_info', labels, 1);
  }
  out.family(
    'service_last_transition_timestamp_seconds',
    'gauge',
    'Wall-clock time of the last change of the automatic state (0: none since boot).',
  );
  for (let s = 0; s < lifeline.names.length; s++) {
    const changedAtMs = engine.changedAtMs[s]!;
    const value = changedAtMs === -Infinity ? 0 : (wallMs - (nowMs - changedAtMs)) / 1000;
    out.sample('service_last_transition_timestamp_seconds', { service: lifeline.names[s]! }, value);
  }
  out.family(
    'service_override_remaining_seconds',
    'gauge',
    'Time left on the console override: 0 without one, +Inf for one that lasts until auto.',
  );
  for (let s = 0; s < lifeline.names.length; s++) {
    const kind = lifeline.arbiter!.kind[s]!;
    const expiresAtMs = lifeline.arbiter!.expiresAtMs[s]!;
    const value =
      kind === 0
        ? 0
        : expiresAtMs === Infinity
          ? Infinity
          : Math.max(0, expiresAtMs - nowMs) / 1000;
    out.sample('service_override_remaining_seconds', { service: lifeline.names[s]! }, value);
  }
}
