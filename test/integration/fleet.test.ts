// The fleet's inputs and view without a network: the status families of the metrics (build and
// config info, state with the reason and time of the last transition, override time left) rendered
// from a firmware on the sim HAL and checked by promtool, read back by `lifeline fleet`'s parser
// into its table; and the command's usage errors, its one-shot output when piped and its refresh
// in a terminal.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';

import { OverrideKind } from '../../firmware/override';
import { Behaviour } from '../../hal/sim/index';
import { fleetRows, formatAge, formatTable, parseMetrics } from '../../operator/fleet';
import { renderMetrics } from '../../appliance/metrics';
import { configHash, VERSION } from '../../appliance/status-metrics';
import { simRig } from '../helpers';
import { randomPort } from '../support/peers';

function metricsOf(rig: ReturnType<typeof simRig>): string {
  return renderMetrics(
    { lifeline: rig.lifeline, speaker: null, auth: null },
    rig.sim.clock.nowMs(),
  );
}

function sample(text: string, pattern: string): number {
  const match = new RegExp('^' + pattern + ' (\\S+)$', 'm').exec(text);
  expect(match, pattern).not.toBe(null);
  return match![1] === '+Inf' ? Infinity : Number(match![1]);
}

describe('the status metrics', () => {
  it('say which release and config run, and why and when each service last changed', () => {
    const rig = simRig({ intervalMs: 250, timeoutMs: 200, rise: 2, fall: 2 });
    rig.sim.runFor(2000);
    rig.sim.setAll({ behaviour: Behaviour.Silent });
    rig.sim.runFor(1000);
    const text = metricsOf(rig);
    expect(text).toContain('lifeline_build_info{version="' + VERSION + '"} 1');
    expect(text).toContain(
      'lifeline_config_info{device="test-edge",hash="' + configHash(rig.lifeline) + '"} 1',
    );
    expect(text).toMatch(
      /^lifeline_service_status_info\{service="dns",auto="down",routes="withdrawn",reason="fall"\} 1$/m,
    );
    const changedAgoS = (rig.sim.clock.nowMs() - rig.lifeline.engine.changedAtMs[0]!) / 1000;
    const at = sample(
      text,
      'lifeline_service_last_transition_timestamp_seconds\\{service="dns"\\}',
    );
    expect(Math.abs(at - (Date.now() / 1000 - changedAgoS))).toBeLessThan(1);
    expect(sample(text, 'lifeline_service_override_remaining_seconds\\{service="dns"\\}')).toBe(0);
  });

  it('give the time left on an override, +Inf for one until auto, and pass promtool', () => {
    const rig = simRig();
    rig.sim.runFor(1000);
    rig.lifeline.setOverride(0, OverrideKind.Announce, Infinity, 'test');
    const untilAuto = metricsOf(rig);
    expect(untilAuto).toMatch(
      /^lifeline_service_override_remaining_seconds\{service="dns"\} \+Inf$/m,
    );
    const check = spawnSync('promtool', ['check', 'metrics'], {
      input: untilAuto,
      encoding: 'utf8',
    });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout + check.stderr).toBe('');
    rig.lifeline.setOverride(0, OverrideKind.Withdraw, 30 * 60 * 1000, 'test');
    rig.sim.runFor(60 * 1000);
    const timed = metricsOf(rig);
    expect(sample(timed, 'lifeline_service_override_remaining_seconds\\{service="dns"\\}')).toBe(
      29 * 60,
    );
  });

  it('hash the config by its settings: equal configs agree, a changed setting differs', () => {
    const a = simRig({ fall: 3 });
    const b = simRig({ fall: 3 });
    const c = simRig({ fall: 4 });
    expect(configHash(a.lifeline)).toMatch(/^[0-9a-f]{16}$/);
    expect(configHash(b.lifeline)).toBe(configHash(a.lifeline));
    expect(configHash(c.lifeline)).not.toBe(configHash(a.lifeline));
  });
});

describe('the fleet table', () => {
  it('reads what the metrics say into one line per appliance and service', () => {
    const rig = simRig({ intervalMs: 250, timeoutMs: 200, rise: 2, fall: 2 });
    rig.sim.runFor(2000);
    rig.lifeline.setOverride(0, OverrideKind.Withdraw, 90 * 60 * 1000, 'test');
    const samples = parseMetrics(metricsOf(rig), '10.0.0.9:9143');
    const rows = fleetRows(
      samples,
      [{ instance: '10.0.0.8:9143', site: 'ams2' }],
      Date.now() / 1000,
    );
    expect(rows.length).toBe(2);
    expect(rows[0]!.slice(0, 8)).toEqual([
      '10.0.0.9:9143',
      'test-edge',
      'dns',
      'withdrawn',
      'up',
      'withdraw (90m left)',
      '-',
      '-',
    ]);
    expect(rows[0]![8]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\ds ago\)$/);
    expect(rows[0]![9]).toBe('rise');
    expect(rows[1]).toEqual([
      'ams2',
      '-',
      '-',
      'unreachable',
      '-',
      '-',
      '-',
      '-',
      '-',
      '10.0.0.8:9143',
    ]);
    const table = formatTable(rows).split('\n');
    expect(table[0]).toMatch(/^SITE {11}DEVICE {5}SERVICE  ROUTES {7}AUTO  OVERRIDE/);
    expect(table[1]!.indexOf('withdrawn')).toBe(table[0]!.indexOf('ROUTES'));
  });

  it('shows the fleet guard: holding or idle, with the other sites it sees, and - without one', () => {
    const text = (holding: number | null, others: number): string =>
      'lifeline_service_status_info{service="dns",routes="last-resort",auto="down"} 1\n' +
      (holding === null
        ? ''
        : 'lifeline_guard_holding{service="dns"} ' +
          holding +
          '\nlifeline_fleet_healthy_sites{service="dns"} ' +
          others +
          '\n');
    const samples = [
      ...parseMetrics(text(1, 0), 'a:1'),
      ...parseMetrics(text(0, 2), 'b:1'),
      ...parseMetrics(text(0, -1), 'c:1'),
      ...parseMetrics(text(null, 0), 'd:1'),
    ];
    const guard = fleetRows(samples, [], 0).map((row) => row[0] + ' ' + row[6]);
    expect(guard).toEqual([
      'a:1 holding (0 others)',
      'b:1 idle (2 others)',
      'c:1 idle (no view)',
      'd:1 -',
    ]);
  });

  it('parses the text format with escapes and infinities, and shows ages in a unit that fits', () => {
    const samples = parseMetrics(
      '# HELP x y\nlifeline_config_info{device="a \\"b\\"",hash="1"} 1\nup +Inf\n',
      'i:1',
    );
    expect(samples).toEqual([
      {
        name: 'lifeline_config_info',
        labels: { instance: 'i:1', device: 'a "b"', hash: '1' },
        value: 1,
      },
      { name: 'up', labels: { instance: 'i:1' }, value: Infinity },
    ]);
    expect([59, 119, 600, 7199, 7200, 172800].map(formatAge)).toEqual([
      '59s',
      '119s',
      '10m',
      '120m',
      '2h',
      '2d',
    ]);
  });
});

describe('lifeline fleet', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['dist/lifeline.mjs', 'fleet', ...args], { encoding: 'utf8' });

  it('refuses to run without exactly one source, and says so (exit 2)', () => {
    for (const args of [
      [],
      ['--prometheus', 'http://a', '--targets', 'b:1'],
      ['--targets', 'nohost'],
      ['--prometheus'],
      ['--targets', 'a:1', '--interval', '0'],
      ['--frobnicate', 'x'],
    ]) {
      const result = cli(...args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^lifeline fleet: /);
    }
    expect(cli('--help').stdout).toMatch(/^usage: lifeline fleet /);
  });

  it('exits 1 with the reason when Prometheus cannot be read', () => {
    const result = cli('--prometheus', 'http://127.0.15.99:' + randomPort());
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^lifeline fleet: http:\/\/127\.0\.15\.99:\d+: fetch failed \(ECONNREFUSED\)$/m,
    );
  });

  it('refreshes in a terminal and prints once when piped', async () => {
    const rig = simRig();
    rig.sim.runFor(2000);
    const text = metricsOf(rig);
    const server = createServer((_request, response) => response.end(text));
    const port = randomPort();
    await new Promise<void>((done) => server.listen(port, '127.0.15.2', done));
    try {
      const piped = await output(['fleet', '--targets', '127.0.15.2:' + port], false);
      expect(piped.split('\n').filter((line) => line !== '').length).toBe(2);
      expect(piped).not.toContain('\x1b[');
      const terminal = await output(
        ['fleet', '--targets', '127.0.15.2:' + port, '--interval', '0.5'],
        true,
      );
      expect(terminal.split('\x1b[H\x1b[2J').length).toBeGreaterThanOrEqual(3);
      expect(terminal).toMatch(/lifeline fleet {2}127\.0\.15\.2:\d+ {2}\d{4}-.*Ctrl-C quits/);
    } finally {
      server.close();
    }
  });
});

describe('the Grafana dashboards', () => {
  it('are importable as they stand: ids, a Prometheus data source, panels that fit the grid', () => {
    const uids: string[] = [];
    for (const file of ['lifeline-fleet.json', 'lifeline-appliance.json']) {
      const dashboard = JSON.parse(readFileSync('packaging/grafana/' + file, 'utf8'));
      uids.push(dashboard.uid);
      expect(dashboard.title, file).toMatch(/^Lifeline: /);
      const variables = dashboard.templating.list;
      expect(variables[0], file).toMatchObject({ name: 'datasource', query: 'prometheus' });
      const ids = dashboard.panels.map((panel: any) => panel.id);
      expect(new Set(ids).size, file + ': panel ids').toBe(ids.length);
      for (const panel of dashboard.panels) {
        const where = file + ': ' + panel.title;
        expect(panel.datasource, where).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(panel.gridPos.x + panel.gridPos.w, where).toBeLessThanOrEqual(24);
        expect(panel.targets.length, where).toBeGreaterThan(0);
        for (const target of panel.targets) expect(target.expr, where).toMatch(/\S/);
      }
    }
    expect(uids).toEqual(['lifeline-fleet', 'lifeline-appliance']);
  });
});

/** What the CLI writes: piped, until it exits; on a pseudo-terminal (script(1)), for 1.6 s. */
function output(args: string[], terminal: boolean): Promise<string> {
  const command = [process.execPath, 'dist/lifeline.mjs', ...args].join(' ');
  const child = terminal
    ? spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, ['dist/lifeline.mjs', ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  if (terminal) setTimeout(() => child.kill('SIGTERM'), 1600);
  return new Promise((done) => child.on('exit', () => done(text)));
}
