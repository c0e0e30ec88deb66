// The whole-fleet cut, played on a FleetLab (fleet-lab.ts) by `lifeline lab --scenario fleet` and
// by the fleet guard's BIRD test: every site's data centres cut at once for a while, then one site
// restored, then the rest. It measures what the fleet guard is for: how long the anycast prefix was
// absent from the router, the time to hand back to the recovered site, the route changes the sites
// sent during the cut, and when each of the others rejoined.

import { FLEET_PREFIX_V6, FleetLab, SITES, until, type DataCentre } from './fleet-lab';
import { FleetRouter, type RouterPath } from './fleet-router';
import { DnsResponder } from './responder';

export interface CutFigures {
  readonly cutAtMs: number;
  readonly restoredAtMs: number;
  /** When the recovered site was the only one left at the router: the end of the outage. */
  readonly aloneAtMs: number;
  readonly endAtMs: number;
  /** Periods with no route for the prefix at the router from the cut to `aloneAtMs` (its log). */
  readonly absences: readonly { fromMs: number; toMs: number }[];
  readonly absentMs: number;
  /** The same, from the sampler of the router's table. */
  readonly sampledAbsentMs: number;
  readonly samples: number;
  /** Route changes the router received from all sites between the cut and the first restore. */
  readonly updatesDuringCut: number;
  /** Sites holding as last resort at the end of the cut, and every path then. */
  readonly holding: readonly string[];
  readonly pathsAtEndOfCut: readonly RouterPath[];
  readonly pathsV6AtEndOfCut: readonly RouterPath[];
  /** From the recovered site's normal route to the last release by the others (null: none). */
  readonly handbackMs: number | null;
  /** From the restore of the other sites to each one's normal route, by site. */
  readonly rejoinMs: Readonly<Record<string, number>>;
}

export type Mark = (atMs: number, text: string) => void;

/** The time of the first route event of `site` at or after `fromMs` leaving it `present`. */
function firstEvent(lab: FleetLab, site: string, fromMs: number, present: boolean): number | null {
  const match = lab
    .events()
    .find((e) => e.site === site && e.atMs >= fromMs && e.present === present);
  return match?.atMs ?? null;
}

/** The cut and the restore of site 0: figures up to the hand-back. */
async function cutAndHandBack(lab: FleetLab, cutMs: number, mark: Mark) {
  const before = lab.received();
  const cutAtMs = Date.now();
  lab.cut([0, 1, 2]);
  mark(cutAtMs, 'CUT: every data centre of every site silent (the maintenance command)');
  await new Promise((resolve) => setTimeout(resolve, cutMs));
  const holding = lab.holding();
  const pathsAtEndOfCut = lab.router.paths();
  const pathsV6AtEndOfCut = lab.router.paths(FLEET_PREFIX_V6);
  const updatesDuringCut = lab.received() - before;
  const restoredAtMs = Date.now();
  lab.restore([0]);
  mark(restoredAtMs, 'RESTORE ' + SITES[0].name + ': its data centres answer again');
  const first = SITES[0].name;
  const alone = (): boolean => lab.normal().join() === first && lab.router.paths().length === 1;
  if ((await until(alone, 10000)) === null)
    throw new Error(first + ' did not end up alone:\n' + lab.context());
  const backAtMs = firstEvent(lab, first, restoredAtMs, true);
  const releases = SITES.slice(1).map((site) => firstEvent(lab, site.name, restoredAtMs, false));
  const released = releases.filter((atMs): atMs is number => atMs !== null);
  const handbackMs =
    backAtMs === null || released.length === 0 ? null : Math.max(...released) - backAtMs;
  const aloneAtMs = Date.now();
  return {
    cutAtMs,
    restoredAtMs,
    aloneAtMs,
    holding,
    pathsAtEndOfCut,
    pathsV6AtEndOfCut,
    updatesDuringCut,
    handbackMs,
  };
}

/** The October 2021 cut on the whole fleet, then its recovery, site 0 first. */
export async function wholeFleetCut(lab: FleetLab, cutMs: number, mark: Mark): Promise<CutFigures> {
  const ready = await until(() => lab.normal().length === SITES.length, 20000);
  if (ready === null) throw new Error('the sites did not all announce:\n' + lab.context());
  mark(Date.now(), 'all ' + SITES.length + ' sites announce the prefix at the router');
  const first = await cutAndHandBack(lab, cutMs, mark);
  const rejoinAtMs = Date.now();
  lab.restore([1, 2]);
  mark(rejoinAtMs, 'RESTORE the others');
  const window = lab.options.guard ? lab.options.rejoinSpreadMs : 0;
  if ((await until(() => lab.normal().length === SITES.length, window + 10000)) === null)
    throw new Error('the others did not rejoin:\n' + lab.context());
  const rejoinMs: Record<string, number> = {};
  for (const site of SITES.slice(1))
    rejoinMs[site.name] = firstEvent(lab, site.name, rejoinAtMs, true)! - rejoinAtMs;
  const found = lab.absences(first.cutAtMs, first.aloneAtMs);
  return {
    ...first,
    endAtMs: Date.now(),
    absences: found,
    absentMs: found.reduce((sum, period) => sum + period.toMs - period.fromMs, 0),
    sampledAbsentMs: lab.sampler.absentMs(first.cutAtMs, first.aloneAtMs),
    samples: lab.sampler.samples,
    rejoinMs,
  };
}

/** The router's route changes and the sites' decisions from `fromMs` on, as timeline lines. */
export function timeline(lab: FleetLab, fromMs: number, toMs: number, mark: Mark): void {
  for (const event of lab.events())
    if (event.atMs >= fromMs && event.atMs <= toMs)
      mark(event.atMs, 'router: ' + event.site + ' ' + (event.present ? 'announces' : 'withdrew'));
  lab.sites.forEach((site, s) => {
    for (const record of site.audit(/^(routes|guard) /))
      if (record.atMs >= fromMs && record.atMs <= toMs)
        mark(record.atMs, '  ' + SITES[s]!.name + ': ' + record.text);
  });
}

/** A data centre for the lab: an in-process DNS responder on loopback. */
async function responderCentre(site: number, index: number): Promise<DataCentre> {
  const responder = await DnsResponder.start({
    address: '127.0.' + (121 + site) + '.' + (index + 1),
  });
  return {
    address: '127.0.' + (121 + site) + '.' + (index + 1),
    port: responder.port,
    cut: () => (responder.silent = true),
    restore: () => (responder.silent = false),
    stop: () => responder.close(),
  };
}

/**
 * The longest absence of the prefix the guard allows in a whole-fleet cut: none. Sites that fall
 * together first mark their routes last resort and decide on the view only `fleet.settleMs` later
 * (firmware/guard.ts, HoldReason.Settle), when each sees the others' marks: none withdraws.
 */
export const GUARD_ABSENCE_MS_MAX = 0;

const CUT_MS = 3000;
const REJOIN_SPREAD_MS = 2000;

/** One half of the lab: the cut with the guard off or on; its printed lines and figures. */
async function half(program: string, guard: boolean, out: string[]): Promise<CutFigures | null> {
  const lab = await FleetLab.start({
    program,
    guard,
    rejoinSpreadMs: REJOIN_SPREAD_MS,
    dataCentre: responderCentre,
  });
  const marks: { atMs: number; text: string }[] = [];
  const mark: Mark = (atMs, text) => marks.push({ atMs, text });
  let figures: CutFigures | null = null;
  try {
    figures = await wholeFleetCut(lab, CUT_MS, mark);
    timeline(lab, figures.cutAtMs - 200, figures.endAtMs, mark);
  } catch (error) {
    out.push('FAILED: ' + (error as Error).message);
  } finally {
    await lab.stop();
  }
  marks.sort((a, b) => a.atMs - b.atMs);
  const zeroMs = figures?.cutAtMs ?? marks[0]?.atMs ?? 0;
  out.unshift(
    ...marks.map(({ atMs, text }) => {
      const ms = atMs - zeroMs;
      return ((ms < 0 ? '' : '+') + ms + ' ms').padStart(10) + '  ' + text;
    }),
  );
  if (figures !== null) out.push('', ...summary(figures));
  return figures;
}

function summary(figures: CutFigures): string[] {
  const rejoin = Object.entries(figures.rejoinMs).map(([site, ms]) => site + ' +' + ms + ' ms');
  const periods = figures.absences.map(
    (period) =>
      '+' + (period.fromMs - figures.cutAtMs) + ' to +' + (period.toMs - figures.cutAtMs) + ' ms',
  );
  return [
    'prefix absent at the router from the ' +
      CUT_MS +
      ' ms cut until a site was back: ' +
      figures.absentMs +
      ' ms (route log' +
      (periods.length === 0 ? '' : ': ' + periods.join(', ')) +
      '), ' +
      figures.sampledAbsentMs +
      ' ms (' +
      figures.samples +
      ' samples of its table)',
    'holding as last resort at the end of the cut: ' + (figures.holding.join(', ') || 'none'),
    'route changes sent by the sites during the cut: ' + figures.updatesDuringCut,
    'hand-back to the recovered site: ' +
      (figures.handbackMs === null ? 'nothing to hand back' : figures.handbackMs + ' ms'),
    'rejoin after the others were restored: ' + rejoin.join(', '),
  ];
}

/** `lifeline lab --scenario fleet`: exit 0 when the guard off lost the prefix and on kept it. */
export async function fleetScenario(program: string): Promise<number> {
  if (!FleetRouter.available()) {
    process.stderr.write('lab --scenario fleet needs BIRD 2: apt-get install bird2\n');
    return 2;
  }
  const off: string[] = [];
  const on: string[] = [];
  const withoutGuard = await half(program, false, off);
  const withGuard = await half(program, true, on);
  const passed =
    withoutGuard !== null &&
    withoutGuard.absentMs > 0 &&
    withGuard !== null &&
    withGuard.absentMs <= GUARD_ABSENCE_MS_MAX &&
    withGuard.holding.length > 0;
  process.stdout.write(
    'Lifeline lab: the October 2021 cut on three sites (' +
      SITES.map((site) => site.name).join(', ') +
      '), BIRD 2 as the router\n\nguard off:\n' +
      off.join('\n') +
      '\n\nguard on (fleet.minHealthySites 1, lastResortMed 500, rejoinSpreadMs ' +
      REJOIN_SPREAD_MS +
      '):\n' +
      on.join('\n') +
      '\n\n' +
      (passed ? 'PASS' : 'FAIL') +
      '\n',
  );
  return passed ? 0 : 1;
}
