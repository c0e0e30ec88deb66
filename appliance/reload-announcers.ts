// The announcers' part of a reload (appliance/reload-tables.ts): the new config's messages are
// built once (a speaker made from it, never started, lends its tables), and each session that
// stays sends only what differs from what its router holds: nothing for a route whose UPDATE is
// the same byte for byte (so a service that did not change never leaves the router), the new
// UPDATE for a route whose attributes or next hop changed (an implicit replacement, RFC 4271
// 3.1), a withdrawal for a route that is gone. A peer whose settings changed is re-established
// (CEASE, then a new session); one that did not keeps its session.

import { ExaBgpAnnouncer, RouteState } from '../firmware/announcer';
import type { BgpPeerConfig, Config } from '../firmware/config';
import { UNDECIDED } from '../firmware/override';
import { BgpSession, SessionState, type SessionOptions } from '../firmware/bgp/session';
import { BgpSpeaker, VARIANTS } from '../firmware/bgp/speaker';

/** The variants of a prefix's messages (firmware/bgp/speaker.ts, VARIANTS). */
const VARIANT_WITHDRAW = 6;
const VARIANT_GRACEFUL_SHUTDOWN = 7;

/** What became of the peers' sessions. */
export interface PeersReloaded {
  readonly kept: number;
  /** Re-established (changed), started (added) or ended (removed). */
  readonly restarted: number;
}

/** The families the speaker's prefixes are in (what each session negotiates). */
function familiesOf(speaker: BgpSpeaker): number {
  let families = 0;
  for (let i = 0; i < speaker.prefixFamily.length; i++)
    families |= speaker.prefixFamily[i] === 4 ? 1 : 2;
  return families;
}

/** The message of prefix `i` (of service `s`) that `session` is to hold now, or null: none. */
function current(
  speaker: BgpSpeaker,
  session: BgpSession,
  s: number,
  i: number,
): Uint8Array | null {
  const state = speaker.state[s]!;
  if (speaker.decided[s] === 0 || state === RouteState.Withdrawn) return null;
  const shutdown = speaker.gracefulShutdown;
  const graceful = shutdown !== null && shutdown.untilMs[s] !== Infinity;
  const variant =
    (graceful ? VARIANT_GRACEFUL_SHUTDOWN : 0) +
    (state - RouteState.Announced) * 2 +
    (session.as4 ? 0 : 1);
  return speaker.updates[session.options.index]![i * VARIANTS + variant]!;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null || a.length !== b.length) return a === b;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Per prefix text, the message `session`'s router holds (or is about to get) from `speaker`. */
function held(speaker: BgpSpeaker, session: BgpSession): Map<string, Uint8Array | null> {
  const config = speaker.config;
  const routes = new Map<string, Uint8Array | null>();
  const pending = speaker.pending[session.options.index]!;
  for (let s = 0; s < speaker.state.length; s++) {
    const prefixes = config.services[s]!.prefixes;
    for (let k = 0; k < prefixes.length; k++) {
      const i = speaker.prefixStart[s]! + k;
      // Still pending: what the router holds is not known, so it is sent again either way.
      const message = pending[i] === 1 ? new Uint8Array(0) : current(speaker, session, s, i);
      routes.set(prefixes[k]!.text, message);
    }
  }
  return routes;
}

/** Whether a peer's session can stay: the same peer, and the same settings every OPEN carries. */
function samePeer(old: Config, next: Config, index: number, sameFamilies: boolean): boolean {
  const a: BgpPeerConfig | undefined = old.announcer.peers[index];
  const b: BgpPeerConfig | undefined = next.announcer.peers[index];
  return (
    a !== undefined &&
    b !== undefined &&
    sameFamilies &&
    JSON.stringify(a) === JSON.stringify(b) &&
    old.announcer.localAs === next.announcer.localAs &&
    old.announcer.restartTimeS === next.announcer.restartTimeS &&
    old.announcer.routerId?.text === next.announcer.routerId?.text
  );
}

/** A new session for peer `index`, set up as BgpSpeaker.start sets one up. */
function newSession(speaker: BgpSpeaker, template: SessionOptions, index: number): BgpSession {
  const config = speaker.config;
  const options: SessionOptions = {
    ...template,
    index,
    peer: config.announcer.peers[index]!,
    families: familiesOf(speaker),
  };
  return new BgpSession(options);
}

/**
 * Puts `config` in place of `speaker`'s running one: carried state per service (`previousOf`:
 * per new service its old index, or -1), the new messages, the sessions kept or re-established,
 * and each kept established session told only what changed.
 */
export function reloadSpeaker(
  speaker: BgpSpeaker,
  config: Config,
  previousOf: Int16Array,
  nowMs: number,
): PeersReloaded {
  const fresh = new BgpSpeaker(config, speaker.hal);
  const sameFamilies = familiesOf(fresh) === familiesOf(speaker);
  const old = speaker.config;
  const sessions = speaker.sessions;
  const before = sessions.map((session) =>
    session.state === SessionState.Established ? held(speaker, session) : null,
  );
  const oldUpdates = speaker.updates;
  const oldPrefixes = new Map<string, number>();
  for (let s = 0; s < old.services.length; s++)
    for (let k = 0; k < old.services[s]!.prefixes.length; k++)
      oldPrefixes.set(old.services[s]!.prefixes[k]!.text, speaker.prefixStart[s]! + k);
  for (let s = 0; s < previousOf.length; s++) {
    const from = previousOf[s]!;
    if (from < 0) continue;
    fresh.state[s] = speaker.state[from]!;
    fresh.decided[s] = speaker.decided[from]!;
    if (fresh.gracefulShutdown !== null && speaker.gracefulShutdown !== null)
      fresh.gracefulShutdown.untilMs[s] = speaker.gracefulShutdown.untilMs[from]!;
  }
  const template = sessions[0]!.options;
  const peerCount = config.announcer.peers.length;
  const oldCount = sessions.length;
  const keep = (index: number): boolean =>
    index < oldCount && samePeer(old, config, index, sameFamilies);
  let kept = 0;
  for (let index = 0; index < Math.max(peerCount, oldCount); index++) {
    if (keep(index)) kept++;
    else sessions[index]?.shutdown(nowMs, false);
  }
  speaker.config = config;
  speaker.state = fresh.state;
  speaker.decided = fresh.decided;
  speaker.gracefulShutdown = fresh.gracefulShutdown;
  speaker.restart = fresh.restart;
  speaker.prefixStart = fresh.prefixStart;
  speaker.prefixCount = fresh.prefixCount;
  speaker.prefixFamily = fresh.prefixFamily;
  speaker.updates = fresh.updates;
  speaker.pending = fresh.pending;
  if (peerCount !== sessions.length) speaker.log = fresh.log;
  for (let index = 0; index < peerCount; index++) {
    if (keep(index)) {
      const session = sessions[index]!;
      (session.options as { peer: BgpPeerConfig }).peer = config.announcer.peers[index]!;
      continue;
    }
    sessions[index] = newSession(speaker, template, index);
  }
  sessions.length = peerCount;
  for (let index = 0; index < peerCount; index++) {
    const routes = keep(index) ? before[index] : null;
    if (routes === null || routes === undefined) continue;
    tellChanges(speaker, sessions[index]!, routes, (text) => {
      const i = oldPrefixes.get(text)!;
      return oldUpdates[index]![i * VARIANTS + VARIANT_WITHDRAW]!;
    });
  }
  return { kept, restarted: Math.max(peerCount, oldCount) - kept };
}

/**
 * Marks pending, on `session`, each prefix whose message differs from what its router holds
 * (`routes`), writes the withdrawal of each route that is no longer in the config, then sends.
 */
function tellChanges(
  speaker: BgpSpeaker,
  session: BgpSession,
  routes: Map<string, Uint8Array | null>,
  withdrawal: (text: string) => Uint8Array,
): void {
  const config = speaker.config;
  const pending = speaker.pending[session.options.index]!;
  for (let s = 0; s < speaker.state.length; s++) {
    const prefixes = config.services[s]!.prefixes;
    for (let k = 0; k < prefixes.length; k++) {
      const i = speaker.prefixStart[s]! + k;
      const text = prefixes[k]!.text;
      const had = routes.has(text) ? routes.get(text)! : null;
      routes.delete(text);
      if (!sameBytes(had, current(speaker, session, s, i))) pending[i] = 1;
    }
  }
  for (const [text, had] of routes) {
    if (had === null) continue;
    if (!session.write(withdrawal(text)))
      speaker.hal.log('bgp peer=' + session.name + ' reload: the withdrawal of ' + text + ' waits');
  }
  speaker.drain(session);
}

/** What an ExaBGP reload needs besides the announcer. */
export interface ExaBgpReload {
  readonly config: Config;
  readonly previousOf: Int16Array;
  /** Per old service, and per new service (carried), the route state given to the announcer. */
  readonly oldEffective: Uint8Array;
  readonly effective: Uint8Array;
}

/** The `announce` lines in effect: per service, those of the state it was last given. */
function announced(lines: readonly (readonly string[])[], effective: Uint8Array): Set<string> {
  const set = new Set<string>();
  for (let s = 0; s < lines.length; s++) {
    const state = effective[s]!;
    if (state === UNDECIDED) continue;
    const count = lines[s]!.length / 4;
    for (let i = state * count; i < (state + 1) * count; i++)
      if (lines[s]![i]!.startsWith('announce ')) set.add(lines[s]![i]!);
  }
  return set;
}

/**
 * The ExaBGP announcer's reload: the lines of the new config, and on stdout only what differs
 * (an `announce` whose line changed replaces the route in ExaBGP; a route gone is withdrawn).
 */
export function reloadExaBgp(announcer: ExaBgpAnnouncer, reload: ExaBgpReload): void {
  const oldLines = announcer.lines;
  const fresh = new ExaBgpAnnouncer(reload.config, announcer.hal);
  const before = announced(oldLines, reload.oldEffective);
  const after = announced(fresh.lines, reload.effective);
  const prefixOf = (line: string): string => line.split(' ')[2]!;
  const still = new Set([...after].map(prefixOf));
  const withdrawals = new Map<string, string>();
  for (const lines of oldLines)
    for (const line of lines.slice(0, lines.length / 4)) withdrawals.set(prefixOf(line), line);
  announcer.lines = fresh.lines;
  const emit = (line: string): void => announcer.hal.emit(line);
  for (const line of before) if (!still.has(prefixOf(line))) emit(withdrawals.get(prefixOf(line))!);
  for (const line of after) if (!before.has(line)) emit(line);
}
