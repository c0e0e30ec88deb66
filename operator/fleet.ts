// `lifeline fleet`: the operator's view of many appliances, one line per appliance and service
// (routes, automatic state, override, guard, BGP, last transition and its reason). Its input is
// Lifeline's own metrics, either from Prometheus (`--prometheus URL`, the fleet's series as the
// rules in packaging/prometheus see them) or scraped from each appliance (`--targets`, a small
// fleet without Prometheus). Both become the same samples, and one function makes the table. In a
// terminal it refreshes; piped, it prints once.
//
// What the targets and Prometheus send is untrusted: every character it prints passes through
// `printable` (no escape sequence reaches the operator's terminal), and every answer is read
// within ANSWER_MS (headers and body) and BODY_BYTES_MAX.

/** One sample of a Lifeline metric, with the appliance it came from in `instance`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The metric families the view reads (appliance/metrics.ts and appliance/status-metrics.ts). */
export const FLEET_METRICS = [
  'lifeline_config_info',
  'lifeline_service_status_info',
  'lifeline_service_override',
  'lifeline_service_override_remaining_seconds',
  'lifeline_service_last_transition_timestamp_seconds',
  'lifeline_bgp_session_state',
] as const;

const OVERRIDE_NAMES = ['none', 'announce', 'withdraw'];
export const COLUMNS = [
  'SITE',
  'DEVICE',
  'SERVICE',
  'ROUTES',
  'AUTO',
  'OVERRIDE',
  'GUARD',
  'BGP',
  'LAST TRANSITION',
  'REASON',
];

/** Prometheus text format: the samples of the families in FLEET_METRICS, labelled `instance`. */
export function parseMetrics(text: string, instance: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    // `s`: a label may hold a carriage return or a line separator, which `.` would stop at.
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = { instance };
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/gs))
      labels[pair[1]!] = pair[2]!.replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : +match[3]!;
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** Seconds as the table shows an age: 42s, 17m, 5h, 3d. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return Math.max(0, Math.round(seconds)) + 's';
  if (seconds < 7200) return Math.round(seconds / 60) + 'm';
  if (seconds < 172800) return Math.round(seconds / 3600) + 'h';
  return Math.round(seconds / 86400) + 'd';
}

function find(
  samples: readonly Sample[],
  name: string,
  instance: string,
  service: string | null,
): Sample | undefined {
  return samples.find(
    (sample) =>
      sample.name === name &&
      sample.labels['instance'] === instance &&
      (service === null || sample.labels['service'] === service),
  );
}

/**
 * The fleet guard: `holding` (routes kept as last resort) or `idle`, with the other sites the
 * appliance sees announcing normally (`no view` without one); `-` without `fleet` or `guard`.
 */
function guardColumn(samples: readonly Sample[], instance: string, service: string): string {
  const holding = find(samples, 'lifeline_guard_holding', instance, service);
  if (holding === undefined) return '-';
  const others = find(samples, 'lifeline_fleet_healthy_sites', instance, service);
  const view = others === undefined || others.value < 0 ? 'no view' : others.value + ' others';
  return (holding.value === 1 ? 'holding' : 'idle') + ' (' + view + ')';
}

function bgpColumn(samples: readonly Sample[], instance: string): string {
  const sessions = samples.filter(
    (sample) =>
      sample.name === 'lifeline_bgp_session_state' && sample.labels['instance'] === instance,
  );
  if (sessions.length === 0) return '-';
  const established = sessions.filter((sample) => sample.value === 4).length;
  return established + '/' + sessions.length + ' up';
}

function overrideColumn(samples: readonly Sample[], instance: string, service: string): string {
  const kind = find(samples, 'lifeline_service_override', instance, service)?.value ?? 0;
  if (kind === 0) return 'none';
  const remaining = find(samples, 'lifeline_service_override_remaining_seconds', instance, service);
  const left =
    remaining === undefined
      ? ''
      : remaining.value === Infinity
        ? ' (until auto)'
        : ' (' + formatAge(remaining.value) + ' left)';
  return (OVERRIDE_NAMES[kind] ?? String(kind)) + left;
}

/**
 * The table's rows: one per appliance and service, and one per appliance that did not answer (its
 * REASON says why).
 */
export function fleetRows(
  samples: readonly Sample[],
  unreachable: readonly Unreachable[],
  nowS: number,
): string[][] {
  const rows: string[][] = [];
  const statuses = samples.filter((sample) => sample.name === 'lifeline_service_status_info');
  for (const status of statuses) {
    const instance = status.labels['instance']!;
    const service = status.labels['service']!;
    const device = find(samples, 'lifeline_config_info', instance, null)?.labels['device'] ?? '-';
    const at = find(
      samples,
      'lifeline_service_last_transition_timestamp_seconds',
      instance,
      service,
    );
    const last =
      at === undefined || at.value === 0
        ? '-'
        : new Date(at.value * 1000).toISOString().slice(0, 19) +
          'Z (' +
          formatAge(nowS - at.value) +
          ' ago)';
    rows.push([
      status.labels['site'] ?? instance,
      device,
      service,
      status.labels['routes'] ?? '-',
      status.labels['auto'] ?? '-',
      overrideColumn(samples, instance, service),
      guardColumn(samples, instance, service),
      bgpColumn(samples, instance),
      last,
      status.labels['reason'] ?? '-',
    ]);
  }
  for (const down of unreachable)
    rows.push([
      down.site,
      '-',
      '-',
      'unreachable',
      '-',
      '-',
      '-',
      '-',
      '-',
      down.reason ?? down.instance,
    ]);
  return rows.sort((a, b) => (a[0] + ' ' + a[2]).localeCompare(b[0] + ' ' + b[2]));
}

/** A cell of at most this many characters: one label cannot push the table off the screen. */
const CELL_LENGTH_MAX = 100;

/**
 * `text` without what a terminal would act on: C0 and C1 controls (ESC, CSI, OSC, BEL, CR,
 * backspace...), DEL, and the line separators and bidirectional overrides that rearrange or break
 * lines. A label cannot change the title, clear the screen, hide or forge rows.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '');
}

function cell(text: string): string {
  const shown = printable(text);
  return shown.length > CELL_LENGTH_MAX ? shown.slice(0, CELL_LENGTH_MAX - 1) + '…' : shown;
}

/** Rows as aligned columns under a header; every cell made printable. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const all = [COLUMNS, ...rows.map((row) => row.map(cell))];
  const widths = COLUMNS.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  '),
    )
    .join('\n');
}

/** An appliance that could not be read. */
export interface Unreachable {
  readonly instance: string;
  readonly site: string;
  /** Why, when scraped directly; absent for Prometheus's `up == 0` (the row shows the instance). */
  readonly reason?: string;
}

export interface FleetView {
  readonly samples: Sample[];
  readonly unreachable: Unreachable[];
}

/** Time for a whole answer, headers and body: a slow body is no answer. */
export const ANSWER_MS = 5000;
/**
 * The largest answer read: an appliance's metrics page is about 1 MiB at the config's limits (16
 * services of 32 targets); Prometheus's answer for a fleet of a thousand appliances is some tens.
 */
export const BODY_BYTES_MAX = { target: 8 * 2 ** 20, prometheus: 64 * 2 ** 20 } as const;

/**
 * GETs `url` and reads its body as text, all within ANSWER_MS and `bytesMax` (counted after
 * decompression): an endless or slow body is cut off, never buffered whole.
 */
export async function readAnswer(
  url: string,
  bytesMax: number,
): Promise<{ status: number; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error('no whole answer within ' + ANSWER_MS / 1000 + ' s')),
    ANSWER_MS,
  );
  try {
    const response = await fetch(url, { signal: controller.signal });
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    const reader = response.body?.getReader();
    for (let read = await reader?.read(); read !== undefined && !read.done;) {
      bytes += read.value.length;
      if (bytes > bytesMax) {
        const error = new Error('answer larger than ' + bytesMax + ' bytes');
        controller.abort(error);
        throw error;
      }
      chunks.push(read.value);
      read = await reader!.read();
    }
    return { status: response.status, text: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    // An abort rejects with its reason: the deadline's or the size's, said as such.
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}

function promValue(text: string): number {
  return text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
}

/** An instant vector as Prometheus's HTTP API gives it. */
interface VectorAnswer {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** One instant query against Prometheus's HTTP API; throws with Prometheus's error. */
async function query(url: string, promql: string) {
  const address = url.replace(/\/+$/, '') + '/api/v1/query?query=' + encodeURIComponent(promql);
  const answer = await readAnswer(address, BODY_BYTES_MAX.prometheus);
  let body: VectorAnswer;
  try {
    body = JSON.parse(answer.text) as VectorAnswer;
  } catch {
    throw new Error('HTTP ' + answer.status + ', not a Prometheus API answer');
  }
  if (body.status !== 'success' || !Array.isArray(body.data?.result))
    throw new Error(String(body.error ?? 'HTTP ' + answer.status));
  return body.data!.result;
}

/** The fleet as Prometheus has it: Lifeline's series, and the appliances it cannot scrape. */
export async function fromPrometheus(url: string): Promise<FleetView> {
  const series = await query(url, '{__name__=~"' + FLEET_METRICS.join('|') + '"}');
  const samples = series.map((entry) => ({
    name: entry.metric['__name__']!,
    labels: entry.metric,
    value: promValue(entry.value[1]),
  }));
  const down = await query(url, 'up{job="lifeline"} == 0');
  const unreachable = down.map((entry) => ({
    instance: entry.metric['instance']!,
    site: entry.metric['site'] ?? entry.metric['instance']!,
  }));
  return { samples, unreachable };
}

/** The fleet scraped directly: each `host:port` target's /metrics. */
export async function fromTargets(targets: readonly string[]): Promise<FleetView> {
  const view: FleetView = { samples: [], unreachable: [] };
  const scrapes = targets.map(async (target) => {
    try {
      const answer = await readAnswer('http://' + target + '/metrics', BODY_BYTES_MAX.target);
      if (answer.status !== 200) throw new Error('HTTP ' + answer.status);
      const names: readonly string[] = FLEET_METRICS;
      for (const sample of parseMetrics(answer.text, target))
        if (names.indexOf(sample.name) >= 0) view.samples.push(sample);
    } catch (error) {
      view.unreachable.push({ instance: target, site: target, reason: describe(error) });
    }
  });
  await Promise.all(scrapes);
  return view;
}

interface FleetOptions {
  prometheus: string | null;
  targets: string[];
  intervalS: number;
  once: boolean;
}

function parseFleetArgs(args: readonly string[]): FleetOptions | string {
  const options: FleetOptions = { prometheus: null, targets: [], intervalS: 2, once: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--once') {
      options.once = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) return arg + ' needs a value';
    if (arg === '--prometheus') options.prometheus = value;
    else if (arg === '--targets') options.targets = value.split(',').filter((t) => t !== '');
    else if (arg === '--interval') options.intervalS = Number(value);
    else return 'unknown flag ' + arg;
  }
  if ((options.prometheus === null) === (options.targets.length === 0))
    return 'give either --prometheus URL or --targets HOST:PORT,...';
  if (!(options.intervalS >= 0.5)) return '--interval must be at least 0.5 (seconds)';
  for (const target of options.targets)
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d+$/.test(target)) return 'not HOST:PORT: ' + target;
  return options;
}

async function render(options: FleetOptions): Promise<{ text: string; view: FleetView }> {
  const view =
    options.prometheus !== null
      ? await fromPrometheus(options.prometheus)
      : await fromTargets(options.targets);
  const text = formatTable(fleetRows(view.samples, view.unreachable, Date.now() / 1000)) + '\n';
  return { text, view };
}

/**
 * An error as one printable line: fetch's "fetch failed" gets its cause (ECONNREFUSED, a
 * timeout...).
 */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  const message = String((error as Error).message ?? error);
  return printable(message + (detail === undefined ? '' : ' (' + detail + ')'));
}

/** Prints the table once: 0, or 1 when the fleet cannot be read or, with --once, a part of it. */
async function printOnce(options: FleetOptions, source: string): Promise<number> {
  try {
    const { text, view } = await render(options);
    process.stdout.write(text);
    if (!options.once) return 0;
    for (const down of view.unreachable) {
      const line = down.instance + ': unreachable: ' + (down.reason ?? 'up == 0 in Prometheus');
      process.stderr.write('lifeline fleet: ' + printable(line) + '\n');
    }
    return view.unreachable.length > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write('lifeline fleet: ' + printable(source) + ': ' + describe(error) + '\n');
    return 1;
  }
}

/** `lifeline fleet`: prints the table once when piped (or --once), else refreshes it. */
export async function fleet(args: readonly string[]): Promise<number> {
  const options = parseFleetArgs(args);
  if (typeof options === 'string') {
    process.stderr.write('lifeline fleet: ' + options + '\n');
    return 2;
  }
  const source = options.prometheus ?? options.targets.join(',');
  if (options.once || process.stdout.isTTY !== true) return printOnce(options, source);
  let stopped = false;
  process.once('SIGINT', () => (stopped = true));
  while (!stopped) {
    let text: string;
    try {
      text = (await render(options)).text;
    } catch (error) {
      text = 'cannot read the fleet: ' + describe(error) + '\n';
    }
    const title =
      'lifeline fleet  ' + printable(source) + '  ' + new Date().toISOString().slice(0, 19) + 'Z';
    const hint = '  (every ' + options.intervalS + ' s; Ctrl-C quits)\n\n';
    process.stdout.write('\x1b[H\x1b[2J' + title + hint + text);
    for (let waitedMs = 0; waitedMs < options.intervalS * 1000 && !stopped; waitedMs += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return 0;
}
