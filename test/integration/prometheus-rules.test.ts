// The shipped Prometheus kit (packaging/prometheus/): the rules pass promtool's checks and their
// unit tests (every alert firing and not firing), the example Prometheus and Alertmanager configs
// are valid, and every alert carries a summary, a description and a runbook section that exists.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { requireCommand } from '../support/peers';

const DIR = 'packaging/prometheus';
const RULES = readFileSync(DIR + '/lifeline.rules.yml', 'utf8');
const ALERTS = [...RULES.matchAll(/^ {6}- alert: (\w+)$/gm)].map((match) => match[1]!);

function tool(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: DIR, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('the Prometheus rules and configs shipped in packaging/prometheus', () => {
  it('has the alerts an on-call engineer needs on day one', () => {
    expect(ALERTS.sort()).toEqual([
      'LifelineAuditWriteFailing',
      'LifelineBgpSessionDown',
      'LifelineConsoleLoginFailures',
      'LifelineGuardHolding',
      'LifelineLoopStalled',
      'LifelineNotScraped',
      'LifelineOverrideActiveLong',
      'LifelinePinAsserted',
      'LifelineRoundsSkipped',
      'LifelineServiceWithdrawnAtMostSites',
      'LifelineServiceWithdrawnAtSite',
      'LifelineServiceWithdrawnEverywhere',
    ]);
  });

  it('passes promtool check rules, and its unit tests in lifeline.rules.test.yml', () => {
    requireCommand('/usr/bin/promtool', 'prometheus');
    const check = tool('promtool', ['check', 'rules', 'lifeline.rules.yml']);
    expect(check.status, check.output).toBe(0);
    expect(check.output).toMatch(/SUCCESS: 16 rules found/);
    const tests = tool('promtool', ['test', 'rules', 'lifeline.rules.test.yml']);
    expect(tests.status, tests.output).toBe(0);
  });

  it('tests every alert both firing and silent', () => {
    const tests = readFileSync(DIR + '/lifeline.rules.test.yml', 'utf8');
    // Each `alertname:` line with the expectation that follows it.
    const cases = [...tests.matchAll(/alertname: (\w+)\n\s+exp_alerts:( \[\])?/g)];
    for (const alert of ALERTS) {
      const mine = cases.filter((match) => match[1] === alert);
      expect(
        mine.some((match) => match[2] === undefined),
        alert + ' fires in a test',
      ).toBe(true);
      expect(
        mine.some((match) => match[2] === ' []'),
        alert + ' stays silent in a test',
      ).toBe(true);
    }
  });

  it('gives every alert a summary, a description and a runbook section that exists', () => {
    const runbook = readFileSync(DIR + '/RUNBOOK.md', 'utf8');
    const rules = RULES.split(/^ {6}- (?=alert|record)/m).filter((rule) =>
      rule.startsWith('alert'),
    );
    expect(rules.length).toBe(ALERTS.length);
    for (const rule of rules) {
      const name = /^alert: (\w+)/.exec(rule)![1]!;
      expect(rule, name).toMatch(/^ {10}summary: \S/m);
      expect(rule, name).toMatch(/^ {10}description: >-\n {12}\S/m);
      expect(rule, name).toMatch(new RegExp('runbook_url: RUNBOOK\\.md#' + name.toLowerCase()));
      expect(runbook, name).toMatch(new RegExp('^## ' + name + '$', 'm'));
    }
  });

  it('ships example Prometheus (scrape and federate) and Alertmanager configs that check out', () => {
    requireCommand('/usr/bin/amtool', 'prometheus-alertmanager');
    for (const file of ['prometheus.example.yml', 'federate.example.yml']) {
      const check = tool('promtool', ['check', 'config', file]);
      expect(check.status, file + ': ' + check.output).toBe(0);
    }
    const check = tool('amtool', ['check-config', 'alertmanager.example.yml']);
    expect(check.status, check.output).toBe(0);
  });

  it('routes the fleet alerts to the pager and the per-site ones to the on-call channel', () => {
    requireCommand('/usr/bin/amtool', 'prometheus-alertmanager');
    const routes: [string, string][] = [
      ['LifelineServiceWithdrawnEverywhere', 'page'],
      ['LifelineServiceWithdrawnAtMostSites', 'page'],
      ['LifelineGuardHolding', 'page'],
      ['LifelineServiceWithdrawnAtSite', 'oncall'],
      ['LifelineNotScraped', 'oncall'],
    ];
    for (const [alert, receiver] of routes) {
      const routed = tool('amtool', [
        'config',
        'routes',
        'test',
        '--config.file=alertmanager.example.yml',
        '--verify.receivers=' + receiver,
        'alertname=' + alert,
        'service=dns',
        'site=sjc1',
      ]);
      expect(routed.status, alert + ': ' + routed.output).toBe(0);
    }
  });
});
