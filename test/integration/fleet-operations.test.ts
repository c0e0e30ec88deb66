// The operations kit against the real thing: Debian's Prometheus and Alertmanager on loopback with
// the shipped rules (packaging/prometheus/lifeline.rules.yml, their `for:` durations unchanged),
// scraping three running Lifelines, each probing its own three dnsmasq data centres. Cutting one
// site's data centres brings the site alert to a webhook receiver; cutting all brings the fleet
// alert; restoring resolves both. A second, global Prometheus federates the first (as
// federate.example.yml does) and must see the same fleet and the same alert. `lifeline fleet` reads
// the fleet from Prometheus and from the appliances (with `--once`, an unreachable one is exit 1),
// and every query of the Grafana dashboards runs against the first Prometheus.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { dnsTargets, document } from '../helpers';
import { randomPort, requireCommand, stopProcess, waitFor } from '../support/peers';

const dir = mkdtempSync(join(tmpdir(), 'lifeline-fleet-'));
const HOST = '127.0.15.1';
const SITES = ['a', 'b', 'c'] as const;
const RULES = resolve('packaging/prometheus/lifeline.rules.yml');

interface Site {
  name: string;
  instance: string;
  dataCentres: Dnsmasq[];
  lifeline: ChildProcess;
  log: string;
}

interface Notification {
  atMs: number;
  alertname: string;
  site: string;
  status: string;
}

const ports = {
  prometheus: randomPort(),
  global: randomPort(),
  alertmanager: randomPort(),
  hook: randomPort(),
};
const prometheusUrl = 'http://' + HOST + ':' + ports.prometheus;
const globalUrl = 'http://' + HOST + ':' + ports.global;
const sites: Site[] = [];
const received: Notification[] = [];
const daemons: ChildProcess[] = [];
const daemonLogs: string[] = [];
let hook: Server;

/** Site `index`: data centres on 127.0.15.(10i+11..13), metrics on 127.0.15.(10i+10). */
async function startSite(index: number, dnsPort: number, metricsPort: number): Promise<Site> {
  const name = SITES[index]!;
  const base = 10 + 10 * index;
  const addresses = [1, 2, 3].map((k) => '127.0.15.' + (base + k));
  const dataCentres: Dnsmasq[] = [];
  for (const address of addresses) dataCentres.push(await startDnsmasq(address, dnsPort));
  const doc = document({ intervalMs: 250, timeoutMs: 200, rise: 2, fall: 2, holdDownMs: 1000 });
  const settings = doc as any;
  settings.device.name = 'edge-' + name;
  settings.services[0].backbone.targets = dnsTargets(addresses, dnsPort);
  const instance = '127.0.15.' + base + ':' + metricsPort;
  settings.metrics = { listen: instance };
  if (name === 'c') {
    // Site c speaks BGP itself, to a router that is not there: a real session that is down.
    settings.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [{ address: '127.0.15.99', port: randomPort(), remoteAs: 65000 }],
    };
    settings.announcer.peers[0].nextHopV6 = '2001:db8::10';
    settings.announcer.peers[0].localAddress = '127.0.15.' + base;
  }
  const file = join(dir, 'site-' + name + '.json');
  writeFileSync(file, JSON.stringify(doc));
  const lifeline = spawn(process.execPath, ['dist/lifeline.mjs', 'run', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const site: Site = { name, instance, dataCentres, lifeline, log: '' };
  lifeline.stderr!.on('data', (chunk: Buffer) => (site.log += chunk.toString()));
  return site;
}

function startDaemon(command: string, args: string[]): void {
  const index = daemonLogs.push('') - 1;
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => (daemonLogs[index] += chunk.toString()));
  daemons.push(child);
}

function startAlertmanager(): void {
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    // The routing is the test's: alerts delivered within a second, firing and resolved.
    `route:
  receiver: hook
  group_by: [alertname, service, site]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://${HOST}:${ports.hook}/
        send_resolved: true
`,
  );
  startDaemon('/usr/bin/prometheus-alertmanager', [
    '--config.file=' + join(dir, 'alertmanager.yml'),
    '--storage.path=' + join(dir, 'alertmanager'),
    '--web.listen-address=' + HOST + ':' + ports.alertmanager,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
}

function startPrometheus(): void {
  const targets = sites
    .map((site) => `      - targets: ['${site.instance}']\n        labels: {site: ${site.name}}`)
    .join('\n');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: ['${RULES}']
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['${HOST}:${ports.alertmanager}']
scrape_configs:
  - job_name: lifeline
    static_configs:
${targets}
`,
  );
  startDaemon('/usr/bin/prometheus', [
    '--config.file=' + join(dir, 'prometheus.yml'),
    '--storage.tsdb.path=' + join(dir, 'prometheus'),
    '--web.listen-address=' + HOST + ':' + ports.prometheus,
    '--log.level=warn',
  ]);
}

/**
 * A global Prometheus federating the first one as packaging/prometheus/federate.example.yml does,
 * with the same rules. It sends no alerts (the receiver should see each once): its ALERTS series
 * show what it would send.
 */
function startGlobalPrometheus(): void {
  writeFileSync(
    join(dir, 'global.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files: ['${RULES}']
scrape_configs:
  - job_name: federate-lifeline
    honor_labels: true
    metrics_path: /federate
    params:
      'match[]':
        - '{job="lifeline"}'
    static_configs:
      - targets: ['${HOST}:${ports.prometheus}']
`,
  );
  startDaemon('/usr/bin/prometheus', [
    '--config.file=' + join(dir, 'global.yml'),
    '--storage.tsdb.path=' + join(dir, 'global'),
    '--web.listen-address=' + HOST + ':' + ports.global,
    '--log.level=warn',
  ]);
}

/** The webhook receiver: every alert of every notification, with the time it arrived. */
function startHook(): Promise<void> {
  hook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const atMs = performance.now();
      const payload = JSON.parse(body) as { alerts: { status: string; labels: any }[] };
      for (const alert of payload.alerts) {
        const labels = alert.labels as Record<string, string>;
        received.push({
          atMs,
          alertname: labels['alertname']!,
          site: labels['site'] ?? '',
          status: alert.status,
        });
      }
      response.end('ok');
    });
  });
  return new Promise((done) => hook.listen(ports.hook, HOST, done));
}

async function query(
  promql: string,
  base = prometheusUrl,
): Promise<{ status: string; error?: string; data?: any }> {
  const url = base + '/api/v1/query?query=' + encodeURIComponent(promql);
  return (await (await fetch(url)).json()) as { status: string; error?: string; data?: any };
}

async function value(promql: string, base = prometheusUrl): Promise<number | null> {
  const result = (await query(promql, base)).data?.result ?? [];
  return result.length === 0 ? null : Number(result[0].value[1]);
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).ok;
  } catch {
    return false;
  }
}

function arrived(alertname: string, site: string, status: string, afterMs: number): boolean {
  return received.some(
    (n) => n.alertname === alertname && n.site === site && n.status === status && n.atMs > afterMs,
  );
}

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['dist/lifeline.mjs', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => done({ status, stdout, stderr }));
  });
}

describe('three Lifelines watched by a real Prometheus and Alertmanager with the shipped rules', () => {
  beforeAll(async () => {
    requireCommand('/usr/bin/prometheus', 'prometheus');
    requireCommand('/usr/bin/prometheus-alertmanager', 'prometheus-alertmanager');
    const dnsPort = randomPort();
    const metricsPort = randomPort();
    for (let index = 0; index < SITES.length; index++)
      sites.push(await startSite(index, dnsPort, metricsPort));
    await startHook();
    startAlertmanager();
    startPrometheus();
    startGlobalPrometheus();
    const alertmanagerReady = 'http://' + HOST + ':' + ports.alertmanager + '/-/ready';
    await waitFor(() => ready(alertmanagerReady), 20000, 'Alertmanager ready');
    await waitFor(() => ready(prometheusUrl + '/-/ready'), 20000, 'Prometheus ready');
    await waitFor(() => ready(globalUrl + '/-/ready'), 20000, 'the global Prometheus ready');
  }, 60000);

  afterAll(async () => {
    for (const daemon of daemons) await stopProcess(daemon);
    for (const site of sites) {
      await stopProcess(site.lifeline);
      for (const server of site.dataCentres) await server.stop();
    }
    await new Promise((done) => (hook === undefined ? done(null) : hook.close(done)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes every site, and the fleet rules count three sites announcing', async () => {
    await waitFor(
      async () => (await value('service:lifeline_sites_announcing:sum{service="dns"}')) === 3,
      20000,
      'three sites announcing dns in Prometheus',
    );
    expect(await value('count(up{job="lifeline"} == 1)')).toBe(3);
    expect(await value('count(count by (hash) (lifeline_config_info))')).toBe(3);
    await waitFor(
      async () =>
        (await value('service:lifeline_sites_announcing:sum{service="dns"}', globalUrl)) === 3,
      10000,
      'three sites announcing dns in the global Prometheus, through federation',
    );
    expect(await value('count(up{job="lifeline",site=~"a|b|c"} == 1)', globalUrl)).toBe(3);
  }, 30000);

  it('fires LifelineServiceWithdrawnAtSite at the receiver when site a loses its data centres', async () => {
    const cutMs = performance.now();
    for (const server of sites[0]!.dataCentres) server.pause();
    const seenMs = await waitFor(
      async () => (await value('lifeline_service_announced{site="a"}')) === 0,
      10000,
      'Prometheus to see site a withdrawn',
    );
    await waitFor(
      () => arrived('LifelineServiceWithdrawnAtSite', 'a', 'firing', cutMs),
      50000,
      'the site alert at the webhook receiver',
    );
    const alertMs = performance.now() - cutMs;
    console.log(
      'cut of site a: withdrawn in Prometheus after ' +
        Math.round(seenMs) +
        ' ms, LifelineServiceWithdrawnAtSite at the receiver after ' +
        Math.round(alertMs) +
        ' ms (for: 30s)',
    );
    expect(alertMs).toBeGreaterThan(30000); // the rule's for: is honoured
    const fleetAlerts = received.filter((n) => n.alertname.startsWith('LifelineServiceWithdrawn'));
    expect(fleetAlerts.map((n) => n.alertname + ' ' + n.site)).toEqual([
      'LifelineServiceWithdrawnAtSite a',
    ]);
  }, 60000);

  it('shows the fleet with lifeline fleet, from Prometheus and from the appliances', async () => {
    const viaPrometheus = await cli(['fleet', '--prometheus', prometheusUrl]);
    expect(viaPrometheus.status, viaPrometheus.stderr).toBe(0);
    const lines = viaPrometheus.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SITE +DEVICE +SERVICE +ROUTES +AUTO +OVERRIDE +GUARD +BGP +LAST/);
    expect(lines.length).toBe(4);
    const stamp = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(\\d+s ago\\)';
    expect(lines[1]).toMatch(
      new RegExp('^a +edge-a +dns +withdrawn +down +none +- +- +' + stamp + ' +fall$'),
    );
    expect(lines[2]).toMatch(
      new RegExp('^b +edge-b +dns +announced +up +none +- +- +' + stamp + ' +rise$'),
    );
    expect(lines[3]).toMatch(/^c +edge-c +dns +announced +up +none +- +0\/1 up /);
    const targets = sites.map((site) => site.instance).join(',');
    const nobody = '127.0.15.99:' + randomPort(); // nothing listens there
    const direct = await cli(['fleet', '--targets', targets + ',' + nobody]);
    expect(direct.status, direct.stderr).toBe(0);
    const rows = direct.stdout.trimEnd().split('\n');
    expect(rows.length).toBe(5);
    expect(rows.find((row) => row.includes('edge-a'))).toMatch(/ withdrawn +down +none .* fall$/);
    expect(rows.find((row) => row.startsWith(nobody))).toMatch(/ unreachable /);
    // For cron and monitoring: with --once, an unreachable appliance is exit 1, and says why.
    const once = await cli(['fleet', '--once', '--targets', targets + ',' + nobody]);
    expect(once.status).toBe(1);
    expect(once.stdout.trimEnd().split('\n').length).toBe(5);
    expect(once.stderr).toBe(
      'lifeline fleet: ' + nobody + ': unreachable: fetch failed (ECONNREFUSED)\n',
    );
    expect((await cli(['fleet', '--once', '--targets', targets])).status).toBe(0);
    expect((await cli(['fleet', '--once', '--prometheus', prometheusUrl])).status).toBe(0);
  }, 30000);

  it('fires LifelineServiceWithdrawnEverywhere when every site is cut', async () => {
    const cutMs = performance.now();
    for (const site of sites.slice(1)) for (const server of site.dataCentres) server.pause();
    await waitFor(
      () => arrived('LifelineServiceWithdrawnEverywhere', '', 'firing', cutMs),
      40000,
      'the fleet alert at the webhook receiver',
    );
    const alertMs = performance.now() - cutMs;
    console.log(
      'cut of every site: LifelineServiceWithdrawnEverywhere at the receiver after ' +
        Math.round(alertMs) +
        ' ms (for: 15s)',
    );
    expect(alertMs).toBeGreaterThan(15000);
    await waitFor(
      async () =>
        (await value(
          'ALERTS{alertname="LifelineServiceWithdrawnEverywhere",alertstate="firing"}',
          globalUrl,
        )) === 1,
      5000,
      'the fleet alert firing in the global Prometheus too',
    );
  }, 50000);

  it('resolves both alerts at the receiver once the data centres are back', async () => {
    const restoreMs = performance.now();
    for (const site of sites) for (const server of site.dataCentres) server.resume();
    await waitFor(
      () =>
        arrived('LifelineServiceWithdrawnEverywhere', '', 'resolved', restoreMs) &&
        arrived('LifelineServiceWithdrawnAtSite', 'a', 'resolved', restoreMs),
      30000,
      'both alerts resolved at the receiver',
    );
    console.log(
      'restore: both resolved at the receiver after ' +
        Math.round(performance.now() - restoreMs) +
        ' ms',
    );
    await waitFor(
      async () => (await value('service:lifeline_sites_announcing:sum{service="dns"}')) === 3,
      10000,
      'every site announcing again',
    );
  }, 40000);

  it('runs every query of the Grafana dashboards without an error, naming only exported metrics', async () => {
    const exported = new Set<string>();
    for (const site of sites) {
      const text = await (await fetch('http://' + site.instance + '/metrics')).text();
      for (const match of text.matchAll(/^(lifeline_\w+)[{ ]/gm)) exported.add(match[1]!);
    }
    const recorded = [...readFileSync(RULES, 'utf8').matchAll(/record: (\S+)/g)].map((m) => m[1]!);
    const known = new Set([...exported, ...recorded, 'up', 'ALERTS']);
    const problems: string[] = [];
    let queries = 0;
    for (const file of ['lifeline-fleet.json', 'lifeline-appliance.json']) {
      const dashboard = JSON.parse(readFileSync('packaging/grafana/' + file, 'utf8'));
      for (const expr of dashboardQueries(dashboard)) {
        queries++;
        const promql = expr
          .replace(/\$site/g, '.*')
          .replace(/\$instance/g, sites[0]!.instance)
          .replace(/\$__rate_interval/g, '1m');
        const answer = await query(promql);
        if (answer.status !== 'success') problems.push(file + ': ' + expr + ': ' + answer.error);
        for (const name of metricNames(expr))
          if (!known.has(name)) problems.push(file + ': ' + expr + ': no metric ' + name);
      }
    }
    expect(problems).toEqual([]);
    expect(queries).toBeGreaterThan(30);
  }, 30000);
});

/** Every PromQL expression of a Grafana dashboard: panel targets and template variables. */
function dashboardQueries(dashboard: any): string[] {
  const found: string[] = [];
  for (const panel of dashboard.panels) for (const target of panel.targets) found.push(target.expr);
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const match = /^label_values\((.*), *\w+\)$/.exec(variable.query.query);
    expect(match, variable.query.query).not.toBe(null);
    found.push(match![1]!);
  }
  return found;
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const PROMQL_OPERATORS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects: identifiers outside strings, label sets, ranges. */
function metricNames(expr: string): string[] {
  const code = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(\w+)\s*\(([^()]*)\)/g, (all, word: string) =>
      PROMQL_WORDS.has(word) ? ' ' : all,
    );
  const names: string[] = [];
  for (const match of code.matchAll(/([a-zA-Z_:][\w:]*)\s*(\()?/g)) {
    if (match[2] !== undefined || PROMQL_OPERATORS.has(match[1]!.toLowerCase())) continue;
    names.push(match[1]!);
  }
  return names;
}
