// Prometheus metrics (text format 0.0.4) on `metrics.listen`, for the fleet's monitoring: read from
// the firmware's counters at scrape time (nothing is added to the loop). Off unless configured;
// appliance/metrics-server.ts serves them.

import { RouteState } from '../firmware/announcer';
import type { Authenticator } from '../firmware/auth';
import { Time } from '../firmware/bfd/session';
import { FAMILY_IPV4, FAMILY_IPV6, HANDLING_NAMES } from '../firmware/bgp/codec';
import { SESSION_STATE_NAMES } from '../firmware/bgp/session';
import type { BgpSpeaker, PeerStatus } from '../firmware/bgp/speaker';
import type { Lifeline } from '../firmware/lifeline';
import { COUNTER_COUNT, COUNTER_NAMES, RTT_BUCKETS_MS } from '../firmware/probe-statistics';
import { processMetrics, readProcessSample } from './process-metrics';
import { statusMetrics } from './status-metrics';

/** What the metrics server refused, by reason (appliance/metrics-server.ts). */
export interface HttpRefusals {
  /**
   * Connections closed over the cap (a new one, or an idle one that made room for it) or over
   * the TLS handshake rate.
   */
  connections: number;
  /** Requests with a method other than GET and HEAD (405). */
  method: number;
  /** Requests without the right credentials (401). */
  unauthorized: number;
  /** Requests whose password check found too many others waiting (429). */
  busy: number;
}

export interface MetricsSources {
  readonly lifeline: Lifeline;
  readonly speaker: BgpSpeaker | null;
  readonly auth: Authenticator | null;
  /** The server's refusals; absent (all 0) when rendered without a server. */
  readonly refusals?: HttpRefusals;
}

const escape = (value: string): string =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Writes families named `prefix` + name into `lines` (shared by writers of other prefixes). */
class Writer {
  constructor(
    readonly lines: string[] = [],
    private readonly prefix = 'lifeline_',
  ) {}

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    const full = this.prefix + name;
    this.lines.push('# HELP ' + full + ' ' + help, '# TYPE ' + full + ' ' + type);
  }
  sample(name: string, labels: Record<string, string>, value: number): void {
    const text = Object.entries(labels)
      .map(([key, label]) => key + '="' + escape(label) + '"')
      .join(',');
    const number = value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);
    this.lines.push(this.prefix + name + (text === '' ? '' : '{' + text + '}') + ' ' + number);
  }
}

function probeMetrics(out: Writer, lifeline: Lifeline): void {
  const probes = lifeline.probes;
  const label = (slot: number): Record<string, string> => ({
    service: lifeline.names[probes.service[slot]!]!,
    target: probes.targets[slot]!.name,
  });
  out.family(
    'probes_total',
    'counter',
    'Probes by outcome: sent, healthy, timeout, dropped replies ...',
  );
  for (let slot = 0; slot < probes.slotCount; slot++) {
    for (let counter = 0; counter < COUNTER_COUNT; counter++) {
      out.sample(
        'probes_total',
        { ...label(slot), result: COUNTER_NAMES[counter]! },
        probes.counter(slot, counter),
      );
    }
  }
  out.family('probe_rtt_seconds', 'histogram', 'Round-trip time of healthy answers.');
  const buckets = RTT_BUCKETS_MS.length + 1;
  for (let slot = 0; slot < probes.slotCount; slot++) {
    let cumulative = 0;
    for (let bucket = 0; bucket < buckets; bucket++) {
      cumulative += probes.statistics!.rttBuckets[slot * buckets + bucket]!;
      const le = bucket < RTT_BUCKETS_MS.length ? String(RTT_BUCKETS_MS[bucket]! / 1000) : '+Inf';
      out.sample('probe_rtt_seconds_bucket', { ...label(slot), le }, cumulative);
    }
    out.sample('probe_rtt_seconds_sum', label(slot), probes.statistics!.rttSumMs[slot]! / 1000);
    out.sample('probe_rtt_seconds_count', label(slot), cumulative);
  }
}

function serviceMetrics(out: Writer, lifeline: Lifeline): void {
  const families: [string, 'counter' | 'gauge', string, (s: number) => number][] = [
    [
      'service_announced',
      'gauge',
      'Routes announced (1, also when drained or held as last resort) or withdrawn (0).',
      (s) => (lifeline.effective[s]! >= 1 && lifeline.effective[s]! <= 3 ? 1 : 0),
    ],
    [
      'service_auto_up',
      'gauge',
      'The automatic decision: 1 up, 0 down or not decided.',
      (s) => (lifeline.engine.state[s] === 1 ? 1 : 0),
    ],
    [
      'service_override',
      'gauge',
      'Console override: 0 none, 1 announce, 2 withdraw.',
      (s) => lifeline.arbiter!.kind[s]!,
    ],
    [
      'service_healthy_targets',
      'gauge',
      'Backbone targets healthy in the last round.',
      (s) => lifeline.healthyTargets[s]!,
    ],
    [
      'service_penalty',
      'gauge',
      'Flap damping penalty.',
      (s) => Math.round(lifeline.engine.penalty[s]!),
    ],
    [
      'service_suppressed',
      'gauge',
      '1 while flap damping suppresses the service.',
      (s) => lifeline.engine.suppressed[s]!,
    ],
    [
      'service_transitions_total',
      'counter',
      'Changes of the automatic decision.',
      (s) => lifeline.engine.transitions[s]!,
    ],
  ];
  for (const [name, type, help, value] of families) {
    out.family(name, type, help);
    for (let s = 0; s < lifeline.names.length; s++)
      out.sample(name, { service: lifeline.names[s]! }, value(s));
  }
}

/** The fleet guard's families, with `fleet` or `guard` configured (docs/reference.md). */
function guardMetrics(out: Writer, lifeline: Lifeline): void {
  const guard = lifeline.guard;
  if (guard === null) return;
  const families: [string, 'counter' | 'gauge', string, (s: number) => number][] = [
    [
      'guard_holding',
      'gauge',
      '1 while the guard keeps the routes as last resort.',
      (s) => (lifeline.effective[s] === RouteState.LastResort ? 1 : 0),
    ],
    [
      'guard_holds_total',
      'counter',
      'Times the guard started holding (what an automatic down meant turned to last resort).',
      (s) => guard.holds[s]!,
    ],
    [
      'fleet_view_known',
      'gauge',
      '1 while a BGP session has told Lifeline what the other sites announce.',
      (s) => (guard.others[s]! >= 0 ? 1 : 0),
    ],
    [
      'fleet_healthy_sites',
      'gauge',
      'Other sites announcing the service normally (-1: no view).',
      (s) => guard.others[s]!,
    ],
  ];
  for (const [name, type, help, value] of families) {
    out.family(name, type, help);
    for (let s = 0; s < lifeline.names.length; s++)
      out.sample(name, { service: lifeline.names[s]! }, value(s));
  }
  out.family(
    'fleet_family_unseen',
    'gauge',
    '1 while sessions are up and none carries the family: its prefixes are not counted.',
  );
  for (let s = 0; s < lifeline.names.length; s++) {
    for (const family of [4, 6]) {
      const prefixes = lifeline.config.services[s]!.prefixes;
      if (!prefixes.some((prefix) => prefix.family === family)) continue;
      const bit = family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
      const labels = { service: lifeline.names[s]!, family: 'ipv' + family };
      const unseen = guard.view?.unseen?.(s) ?? 0;
      out.sample('fleet_family_unseen', labels, (unseen & bit) === 0 ? 0 : 1);
    }
  }
}

export function renderMetrics(sources: MetricsSources, nowMs: number): string {
  const out = new Writer();
  const lifeline = sources.lifeline;
  out.family('rounds_total', 'counter', 'Probe rounds completed.');
  out.sample('rounds_total', {}, lifeline.counters.rounds);
  out.family('rounds_skipped_total', 'counter', 'Rounds skipped because the loop was late.');
  out.sample('rounds_skipped_total', {}, lifeline.counters.roundsSkipped);
  out.family('pin_asserted', 'gauge', '1 while the override pin is asserted.');
  out.sample('pin_asserted', {}, lifeline.arbiter!.pinAsserted ? 1 : 0);
  out.family('auth_failures_total', 'counter', 'Failed console authentication attempts.');
  out.sample('auth_failures_total', {}, sources.auth?.failuresTotal ?? 0);
  out.family(
    'audit_write_failures_total',
    'counter',
    'Audit records that could not be written to storage.',
  );
  out.sample('audit_write_failures_total', {}, lifeline.audit.writeFailures);
  out.family(
    'audit_suppressed_total',
    'counter',
    'Audit records held back by the flood throttle (counted in suppressed records).',
  );
  out.sample('audit_suppressed_total', {}, lifeline.audit.suppressedTotal);
  probeMetrics(out, lifeline);
  serviceMetrics(out, lifeline);
  guardMetrics(out, lifeline);
  statusMetrics(out, lifeline, nowMs, Date.now());
  if (sources.speaker !== null) {
    const peers = sources.speaker.status(nowMs);
    out.family(
      'bgp_session_state',
      'gauge',
      'BGP session state: 0 idle, 1 connect, 2 opensent, 3 openconfirm, 4 established.',
    );
    for (const peer of peers)
      out.sample('bgp_session_state', { peer: peer.peer }, SESSION_STATE_NAMES.indexOf(peer.state));
    out.family('bgp_updates_sent_total', 'counter', 'UPDATE messages sent to the peer.');
    for (const peer of peers)
      out.sample('bgp_updates_sent_total', { peer: peer.peer }, peer.updatesSent);
    out.family(
      'bgp_updates_received_total',
      'counter',
      'UPDATE messages received (checked, never installed).',
    );
    for (const peer of peers)
      out.sample('bgp_updates_received_total', { peer: peer.peer }, peer.updatesReceived);
    bgpErrorMetrics(out, peers, sources.speaker.log!.throttle.suppressedTotal);
  }
  bfdMetrics(out, lifeline);
  httpMetrics(out, sources.refusals);
  processMetrics(new Writer(out.lines, ''), readProcessSample());
  return out.lines.join('\n') + '\n';
}

/** BFD (firmware/bfd), one sample per peer with `bfd` configured; nothing without any. */
function bfdMetrics(out: Writer, lifeline: Lifeline): void {
  const bfd = lifeline.bfd;
  if (bfd === null) return;
  const sessions = bfd.sessions.filter((session) => session !== null);
  const peer = (session: (typeof sessions)[0]) => ({ peer: session.options.name });
  out.family('bfd_state', 'gauge', 'BFD session state: 0 admin-down, 1 down, 2 init, 3 up.');
  for (const session of sessions) out.sample('bfd_state', peer(session), session.state);
  out.family('bfd_transitions_total', 'counter', 'BFD session state changes.');
  for (const session of sessions)
    out.sample('bfd_transitions_total', peer(session), session.transitions);
  out.family(
    'bfd_diagnostic',
    'gauge',
    'The diagnostic (RFC 5880 4.1) of the last state change: 1 detection time expired, 3 ' +
      'neighbor signaled down, 7 administratively down.',
  );
  for (const session of sessions) out.sample('bfd_diagnostic', peer(session), session.diagnostic);
  out.family('bfd_packets_total', 'counter', 'BFD Control packets sent, received, discarded.');
  for (const session of sessions) {
    const name = session.options.name;
    out.sample('bfd_packets_total', { peer: name, direction: 'sent' }, session.packetsSent);
    out.sample('bfd_packets_total', { peer: name, direction: 'received' }, session.packetsReceived);
    out.sample(
      'bfd_packets_total',
      { peer: name, direction: 'discarded' },
      session.packetsDiscarded,
    );
  }
  out.family(
    'bfd_transmit_late_seconds_max',
    'gauge',
    'The most a periodic BFD transmit came after its time: a busy loop, or a stopped process.',
  );
  for (const session of sessions)
    out.sample(
      'bfd_transmit_late_seconds_max',
      peer(session),
      session.times[Time.LateMsMax]! / 1000,
    );
}

function httpMetrics(out: Writer, refusals: HttpRefusals | undefined): void {
  out.family(
    'http_refused_total',
    'counter',
    'What the metrics server refused: connections over the cap, methods, credentials, busy checks.',
  );
  for (const reason of ['connections', 'method', 'unauthorized', 'busy'] as const)
    out.sample('http_refused_total', { reason }, refusals?.[reason] ?? 0);
}

/**
 * What the speaker did about its peers' errors: the UPDATEs by RFC 7606 approach, the connections
 * refused, and its lines held back by the throttle.
 */
function bgpErrorMetrics(out: Writer, peers: readonly PeerStatus[], suppressed: number): void {
  out.family(
    'bgp_update_errors_total',
    'counter',
    'Received UPDATEs with errors, by the RFC 7606 approach they called for (handling).',
  );
  for (const peer of peers) {
    const counts = [
      peer.attributeDiscard,
      peer.treatAsWithdraw,
      peer.afiSafiDisable,
      peer.updateResets,
    ];
    for (let i = 0; i < counts.length; i++) {
      const labels = { peer: peer.peer, handling: HANDLING_NAMES[i + 1]! };
      out.sample('bgp_update_errors_total', labels, counts[i]!);
    }
  }
  out.family(
    'bgp_connections_refused_total',
    'counter',
    'Connections from the peer refused while its session was Established (RFC 4271 6.8).',
  );
  for (const peer of peers)
    out.sample('bgp_connections_refused_total', { peer: peer.peer }, peer.connectionsRefused);
  out.family(
    'bgp_log_suppressed_total',
    'counter',
    'Lines about what BGP peers did held back by the throttle (counted in suppressed lines).',
  );
  out.sample('bgp_log_suppressed_total', {}, suppressed);
}
