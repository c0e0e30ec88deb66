// The metrics server of `lifeline run` against hostile HTTP clients and a real Prometheus (issue 20
// item 13), through real sockets: other methods are refused with 405 and `Allow`, / is a landing
// page, the standard `process_*` metrics are there and agree with /proc; 1,500 idle connections
// (more than the 1,024 descriptors the process is given) neither lock the scraper out nor cost a
// probe round; a connection that sends nothing, or drips its headers, is closed. With a web config
// in the exporters' format: Debian's Prometheus scrapes it over TLS with basic auth (and serves its
// own API from the same file), wrong credentials get 401 with `WWW-Authenticate`, a flood of wrong
// passwords costs neither a round nor the right password's access, client certificates are
// enforced, and check-config names every problem of the file. A plain appliance never loads the
// YAML or bcrypt libraries. LIFELINE_BUNDLE names another build to run (an older one, to see the
// failures).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { readConfig } from '../../config/validate';
import { Lifeline } from '../../firmware/lifeline';
import { SimHal } from '../../hal/sim/index';
import { startDnsmasq, type Dnsmasq } from '../../lab/dnsmasq';
import { CONNECTIONS_MAX, HEADERS_MS, IDLE_MS, startMetrics } from '../../appliance/metrics-server';
import { dnsTargets, document } from '../helpers';
import { randomPort, requireCommand, stopProcess, waitFor } from '../support/peers';

const BUNDLE = process.env['LIFELINE_BUNDLE'] ?? 'dist/lifeline.mjs';
const FDS_MAX = 1024;
const dir = mkdtempSync(join(tmpdir(), 'lifeline-metrics-server-'));

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface RequestOptions {
  port: number;
  host: string;
  method?: string;
  path?: string;
  tls?: { ca: string; cert?: string; key?: string };
  auth?: string;
  /** A keep-alive agent to reuse a connection, as Prometheus does; none: a connection of its own. */
  agent?: HttpsAgent;
}

/** One request, on a connection of its own unless an agent is given, with a real HTTP(S) client. */
function fetchOnce(options: RequestOptions): Promise<Answer> {
  const send = options.tls === undefined ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      {
        host: options.host,
        port: options.port,
        method: options.method ?? 'GET',
        path: options.path ?? '/metrics',
        agent: options.agent ?? false,
        ...(options.auth === undefined ? {} : { auth: options.auth }),
        ...(options.tls ?? {}),
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body }),
        );
      },
    );
    request.setTimeout(3000, () => request.destroy(new Error('no answer in 3 s')));
    request.on('error', reject);
    request.end();
  });
}

/** A sample's value on a metrics page (the first that matches `pattern`, a regexp source). */
function value(text: string, pattern: string): number {
  const match = new RegExp('^' + pattern + ' (\\S+)$', 'm').exec(text);
  if (match === null) throw new Error('no ' + pattern + ' in the page');
  return Number(match[1]);
}

function probesSent(text: string): number {
  let total = 0;
  for (const match of text.matchAll(/^lifeline_probes_total\{[^}]*result="sent"[^}]*\} (\d+)$/gm))
    total += Number(match[1]);
  return total;
}

/** `lifeline run` on `config`, with at most FDS_MAX descriptors (soft and hard: Node cannot raise it). */
function runLifeline(
  config: string,
  nodeArgs: string[] = [],
): { child: ChildProcess; log: () => string } {
  const command = ['ulimit -n ' + FDS_MAX, 'exec "$0" "$@"'].join(' && ');
  const child = spawn(
    'sh',
    ['-c', command, process.execPath, ...nodeArgs, BUNDLE, 'run', '--config', config],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return { child, log: () => log };
}

/** A CommonJS preload that says on stderr when the web config's libraries are loaded. */
function loadTracer(): string {
  const path = join(dir, 'trace-loads.cjs');
  writeFileSync(
    path,
    "const Module = require('node:module');\n" +
      'const load = Module._load;\n' +
      'Module._load = function (request, ...rest) {\n' +
      '  if (/^(yaml|bcryptjs)$|[\\\\/](yaml|bcryptjs)[\\\\/]/.test(request))\n' +
      "    process.stderr.write('trace: loaded ' + request + '\\n');\n" +
      '  return load.call(this, request, ...rest);\n' +
      '};\n',
  );
  return path;
}

async function startDataCentres(addresses: string[], servers: Dnsmasq[]): Promise<number> {
  const port = randomPort();
  for (const address of addresses) servers.push(await startDnsmasq(address, port));
  return port;
}

function closed(socket: Socket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => socket.once('close', () => resolve(performance.now() - started)));
}

describe('the metrics server against hostile clients', () => {
  const HOST = '127.0.17.1';
  const servers: Dnsmasq[] = [];
  const port = randomPort();
  let lifeline: ReturnType<typeof runLifeline>;
  const scrape = (): Promise<Answer> => fetchOnce({ host: HOST, port });

  beforeAll(async () => {
    const addresses = ['127.0.17.11', '127.0.17.12', '127.0.17.13'];
    const dnsPort = await startDataCentres(addresses, servers);
    const doc = document({ intervalMs: 100, timeoutMs: 80, rise: 1 }) as any;
    doc.services[0].backbone.targets = dnsTargets(addresses, dnsPort);
    doc.metrics = { listen: HOST + ':' + port };
    writeFileSync(join(dir, 'plain.json'), JSON.stringify(doc));
    lifeline = runLifeline(join(dir, 'plain.json'), ['--require', loadTracer()]);
    await waitFor(async () => (await scrape().catch(() => null))?.status === 200, 10000, 'metrics');
  });

  afterAll(async () => {
    await stopProcess(lifeline.child);
    for (const server of servers) await server.stop();
  });

  it('answers GET and HEAD, 405 with Allow to other methods, a landing page at /, 404 elsewhere', async () => {
    const get = await scrape();
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const head = await fetchOnce({ host: HOST, port, method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const refused = await fetchOnce({ host: HOST, port, method });
      expect(refused.status, method).toBe(405);
      expect(refused.headers['allow'], method).toBe('GET, HEAD');
    }
    const landing = await fetchOnce({ host: HOST, port, path: '/' });
    expect(landing.status).toBe(200);
    expect(landing.headers['content-type']).toMatch(/^text\/html/);
    expect(landing.body).toMatch(/<a href="metrics">/);
    expect(landing.body).toContain('test-edge');
    expect((await fetchOnce({ host: HOST, port, path: '/other' })).status).toBe(404);
    expect(value((await scrape()).body, 'lifeline_http_refused_total\\{reason="method"\\}')).toBe(
      5,
    );
  });

  it('exports the process_* metrics as the client libraries define them, which promtool accepts', async () => {
    requireCommand('/usr/bin/promtool', 'prometheus');
    const text = (await scrape()).body;
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout + check.stderr).toBe('');
    for (const name of ['cpu_seconds_total', 'resident_memory_bytes', 'virtual_memory_bytes'])
      expect(text).toMatch(new RegExp('^# TYPE process_' + name + ' ', 'm'));
    const pid = lifeline.child.pid!; // sh exec'd node: the same process
    const status = readFileSync('/proc/' + pid + '/status', 'utf8');
    const rssBytes = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    expect(value(text, 'process_max_fds')).toBe(FDS_MAX);
    const openFds = value(text, 'process_open_fds');
    expect(openFds).toBeGreaterThan(10); // stdio, the event loop, sockets of the probes and the server
    expect(openFds).toBeLessThan(100);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(rssBytes / 2);
    expect(value(text, 'process_resident_memory_bytes')).toBeLessThan(rssBytes * 2);
    expect(value(text, 'process_virtual_memory_bytes')).toBeGreaterThan(rssBytes);
    const started = value(text, 'process_start_time_seconds');
    expect(started).toBeLessThanOrEqual(Date.now() / 1000);
    expect(started).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(value(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    // The plain appliance loaded neither library of the web config.
    expect(lifeline.log()).not.toMatch(/trace: loaded/);
  });

  it('keeps serving scrapes and probes through 1,500 idle connections, within its descriptors', async () => {
    const before = (await scrape()).body;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const calm = (await scrape()).body;
    const calmRate = (probesSent(calm) - probesSent(before)) / 2;
    const sockets: Socket[] = [];
    let closedByServer = 0;
    const floodStarted = performance.now();
    for (let i = 0; i < 1500; i++) {
      const socket = connect({ host: HOST, port });
      socket.on('error', () => {});
      socket.on('close', () => closedByServer++);
      sockets.push(socket);
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor(
      () => closedByServer >= 1500 - CONNECTIONS_MAX,
      5000,
      'the cap to close the rest',
    );
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push((await scrape().catch(() => ({ status: 0 }) as Answer)).status);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const during = (await scrape()).body;
    const floodRate =
      (probesSent(during) - probesSent(calm)) / ((performance.now() - floodStarted) / 1000);
    for (const socket of sockets) socket.destroy();
    const socketFailed = (text: string): number =>
      value(text, 'lifeline_probes_total\\{service="dns",target="dc0",result="socket_failed"\\}');
    const skipped =
      value(during, 'lifeline_rounds_skipped_total') - value(calm, 'lifeline_rounds_skipped_total');
    const figures =
      `scrapes ${answers.join(',')}; closed by the server ${closedByServer}; open fds ` +
      `${value(during, 'process_open_fds')}; probes/s ${calmRate.toFixed(1)} calm, ` +
      `${floodRate.toFixed(1)} flooded; ${skipped} rounds skipped`;
    console.log('idle connections: ' + figures);
    expect(answers, figures).toEqual([200, 200, 200, 200, 200]);
    expect(value(during, 'process_open_fds'), figures).toBeLessThan(
      value(calm, 'process_open_fds') + CONNECTIONS_MAX + 4,
    );
    expect(
      value(during, 'lifeline_http_refused_total\\{reason="connections"\\}'),
    ).toBeGreaterThanOrEqual(1500 - CONNECTIONS_MAX);
    // No probe lacked a socket (counted, not timed: out of descriptors, every probe would), and
    // the loop kept probing (the burst of 1,500 accepts is timing on a shared machine: a figure).
    expect(socketFailed(during), figures).toBe(socketFailed(calm));
    expect(probesSent(during), figures).toBeGreaterThan(probesSent(calm));
    expect(lifeline.log()).not.toMatch(/EMFILE/);
  });

  it('closes a connection that sends nothing, and one that drips its headers', async () => {
    const silent = connect({ host: HOST, port });
    const dripping = connect({ host: HOST, port });
    for (const socket of [silent, dripping]) socket.on('error', () => {});
    dripping.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => dripping.write('X-A: b\r\n'), 500);
    const [silentMs, drippingMs] = await Promise.all([closed(silent), closed(dripping)]);
    clearInterval(drip);
    console.log(
      'closed after ' +
        Math.round(silentMs) +
        ' ms silent, ' +
        Math.round(drippingMs) +
        ' ms dripping',
    );
    // Each within its limit, and not before: the limits are what closed them.
    expect(silentMs).toBeGreaterThan(IDLE_MS - 100);
    expect(silentMs).toBeLessThan(IDLE_MS + 5000);
    expect(drippingMs).toBeGreaterThan(HEADERS_MS - 100);
    expect(drippingMs).toBeLessThan(HEADERS_MS + 5000);
  }, 20000);
});

/** A self-signed certificate for `name` (its CN) valid for `altNames`, made by openssl. */
function certificate(name: string, altNames: string): { cert: string; key: string } {
  requireCommand('/usr/bin/openssl', 'openssl');
  const cert = join(dir, name + '.pem');
  const key = join(dir, name + '-key.pem');
  const result = spawnSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=' + name],
      ...['-addext', 'subjectAltName=' + altNames],
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error('openssl: ' + result.stderr);
  return { cert, key };
}

describe('TLS and basic auth from a web config, scraped by a real Prometheus', () => {
  const HOST = '127.0.17.21';
  const PROMETHEUS = '127.0.17.22';
  const PASSWORD = 'scrape-secret';
  const servers: Dnsmasq[] = [];
  const port = randomPort();
  const prometheusPort = randomPort();
  let lifeline: ReturnType<typeof runLifeline>;
  let prometheus: ChildProcess;
  let prometheusLog = '';
  let ca = '';
  const scrape = (auth?: string, method?: string, agent?: HttpsAgent): Promise<Answer> =>
    fetchOnce({
      host: HOST,
      port,
      tls: { ca },
      ...(auth === undefined ? {} : { auth }),
      ...(method === undefined ? {} : { method }),
      ...(agent === undefined ? {} : { agent }),
    });

  /** An instant query against Prometheus's API, over TLS with basic auth from the same file. */
  async function query(promql: string): Promise<number | null> {
    const answer = await fetchOnce({
      host: PROMETHEUS,
      port: prometheusPort,
      path: '/api/v1/query?query=' + encodeURIComponent(promql),
      tls: { ca },
      auth: 'prometheus:' + PASSWORD,
    });
    const result = JSON.parse(answer.body).data?.result ?? [];
    return result.length === 0 ? null : Number(result[0].value[1]);
  }

  beforeAll(async () => {
    requireCommand('/usr/bin/prometheus', 'prometheus');
    const { hashSync } = await import('bcryptjs');
    const hash = hashSync(PASSWORD, 10);
    const pair = certificate('lifeline', 'IP:' + HOST + ',IP:' + PROMETHEUS);
    ca = readFileSync(pair.cert, 'utf8');
    // Relative names: relative to the web config's directory, as exporter-toolkit reads them.
    writeFileSync(
      join(dir, 'web.yml'),
      'tls_server_config:\n  cert_file: lifeline.pem\n  key_file: lifeline-key.pem\n' +
        'basic_auth_users:\n' +
        `  prometheus: '${hash}'\n` +
        // The same hash as htpasswd writes its prefix: Go's bcrypt and bcryptjs both take it.
        `  htpasswd-user: '${hash.replace(/^\$2b\$/, '$2y$')}'\n`,
    );
    const addresses = ['127.0.17.31', '127.0.17.32', '127.0.17.33'];
    const dnsPort = await startDataCentres(addresses, servers);
    const doc = document({ intervalMs: 100, timeoutMs: 80, rise: 1 }) as any;
    doc.services[0].backbone.targets = dnsTargets(addresses, dnsPort);
    doc.metrics = { listen: HOST + ':' + port, webConfigFile: join(dir, 'web.yml') };
    writeFileSync(join(dir, 'tls.json'), JSON.stringify(doc));
    lifeline = runLifeline(join(dir, 'tls.json'), ['--require', loadTracer()]);
    const job = (name: string, scheme: string, password: string): string =>
      `  - job_name: ${name}\n    scheme: ${scheme}\n` +
      `    tls_config: {ca_file: '${pair.cert}'}\n` +
      `    basic_auth: {username: prometheus, password: '${password}'}\n` +
      `    static_configs: [{targets: ['${HOST}:${port}']}]\n`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      'global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n' +
        job('lifeline', 'https', PASSWORD) +
        job('wrong-password', 'https', 'not-' + PASSWORD) +
        job('plain-http', 'http', PASSWORD),
    );
    prometheus = spawn(
      '/usr/bin/prometheus',
      [
        '--config.file=' + join(dir, 'prometheus.yml'),
        '--storage.tsdb.path=' + join(dir, 'prometheus'),
        '--web.listen-address=' + PROMETHEUS + ':' + prometheusPort,
        '--web.config.file=' + join(dir, 'web.yml'),
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
  });

  afterAll(async () => {
    await stopProcess(prometheus ?? null);
    await stopProcess(lifeline?.child ?? null);
    for (const server of servers) await server.stop();
  });

  it('is scraped by Prometheus over TLS with basic auth; a wrong password or plain HTTP is not', async () => {
    await waitFor(
      async () =>
        (await query('up{job="lifeline"}').catch(() => null)) === 1 &&
        (await query('up{job="wrong-password"}')) === 0 &&
        (await query('up{job="plain-http"}')) === 0,
      20000,
      'the three scrapes\n' + lifeline.log() + prometheusLog,
    );
    expect(await query('lifeline_rounds_total{job="lifeline"}')).toBeGreaterThan(0);
    expect(await query('process_open_fds{job="lifeline"}')).toBeGreaterThan(0);
    expect(await query('lifeline_rounds_total{job="wrong-password"}')).toBe(null);
    // The web config's libraries were loaded: the tracer of the plain test sees what it looks for.
    expect(lifeline.log()).toMatch(/trace: loaded yaml/);
  }, 30000);

  it('answers 401 with WWW-Authenticate without the right credentials, and serves with them', async () => {
    for (const auth of [undefined, 'prometheus:wrong', 'nobody:' + PASSWORD, 'prometheus']) {
      const refused = await scrape(auth);
      expect(refused.status, String(auth)).toBe(401);
      expect(refused.headers['www-authenticate'], String(auth)).toMatch(/^Basic realm="Lifeline"/);
      expect(refused.body).not.toMatch(/lifeline_/);
    }
    const served = await scrape('prometheus:' + PASSWORD);
    expect(served.status).toBe(200);
    expect(served.body).toMatch(/^lifeline_rounds_total \d+$/m);
    expect((await scrape('htpasswd-user:' + PASSWORD)).status).toBe(200);
    expect((await scrape('prometheus:' + PASSWORD, 'POST')).status).toBe(405);
    // Plain HTTP on the TLS port gets no metrics.
    const plain = await fetchOnce({ host: HOST, port }).catch(() => null);
    expect(plain?.body ?? '').not.toMatch(/lifeline_/);
  });

  it('checks passwords off the probe loop: a flood of wrong ones keeps the probe rate and locks no one out', async () => {
    const right = 'prometheus:' + PASSWORD;
    // The scraper keeps its connection, as Prometheus does; the attacker makes a new one each time.
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
    const before = (await scrape(right, 'GET', agent)).body;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const calm = (await scrape(right, 'GET', agent)).body;
    const calmRate = (probesSent(calm) - probesSent(before)) / 2;
    let attempts = 0;
    let flooding = true;
    const statuses = new Map<number, number>();
    const attacker = async (id: number): Promise<void> => {
      while (flooding) {
        const answer = await scrape('prometheus:guess-' + id + '-' + attempts++).catch(() => null);
        const status = answer?.status ?? 0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    const floodStarted = performance.now();
    const attackers = Array.from({ length: 16 }, (_, id) => attacker(id));
    const rightAnswers: number[] = [];
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      rightAnswers.push(
        (await scrape(right, 'GET', agent).catch(() => ({ status: 0 }) as Answer)).status,
      );
    }
    const during = (await scrape(right, 'GET', agent)).body;
    const floodRate =
      (probesSent(during) - probesSent(calm)) / ((performance.now() - floodStarted) / 1000);
    flooding = false;
    await Promise.all(attackers);
    agent.destroy();
    const skipped =
      value(during, 'lifeline_rounds_skipped_total') - value(calm, 'lifeline_rounds_skipped_total');
    const refused = value(during, 'lifeline_http_refused_total\\{reason="connections"\\}');
    const figures =
      `attempts ${attempts} answered ${JSON.stringify([...statuses])}; connections refused ` +
      `${refused}; probes/s ${calmRate.toFixed(1)} calm, ${floodRate.toFixed(1)} flooded; ${skipped} rounds skipped`;
    console.log('wrong passwords: ' + figures);
    expect(attempts, figures).toBeGreaterThan(100);
    expect(
      rightAnswers.filter((status) => status !== 200),
      figures,
    ).toEqual([]);
    expect(statuses.get(429) ?? 0, figures).toBeGreaterThan(0); // the wait queue's bound
    expect(value(during, 'lifeline_http_refused_total\\{reason="busy"\\}')).toBeGreaterThan(0);
    expect(value(during, 'lifeline_http_refused_total\\{reason="unauthorized"\\}')).toBeGreaterThan(
      0,
    );
    // As in the hostile BGP peer's test: the probe rate holds (bcrypt on the loop's thread, 160 ms
    // a check, would take most of it); skipped rounds are timing on a shared machine: a figure.
    expect(floodRate, figures).toBeGreaterThan(0.8 * calmRate);
  }, 30000);
});

describe('the web config: client certificates and what check-config says', () => {
  const check = (webConfig: string): { status: number | null; stderr: string } => {
    writeFileSync(join(dir, 'check.yml'), webConfig);
    const doc = document() as any;
    doc.metrics = { listen: '127.0.0.1:9143', webConfigFile: join(dir, 'check.yml') };
    writeFileSync(join(dir, 'check.json'), JSON.stringify(doc));
    const result = spawnSync(process.execPath, [BUNDLE, 'check-config', join(dir, 'check.json')], {
      encoding: 'utf8',
    });
    return { status: result.status, stderr: result.stderr };
  };
  const where = 'metrics.webConfigFile: ' + join(dir, 'check.yml') + ': ';

  it('names each problem of the file: YAML, unknown keys, unreadable or mismatched files, hashes', () => {
    const server = certificate('server', 'DNS:lifeline.test');
    const other = certificate('other', 'DNS:other.test');
    expect(check('tls_server_config:\n cert_file: a\n  key_file: b\n')).toEqual({
      status: 2,
      stderr:
        where +
        'is not valid YAML at line 2 column 13 (Nested mappings are not allowed in compact mappings)\n',
    });
    const problems = check(
      `tls_server_config:\n  cert_file: ${join(dir, 'missing.pem')}\n  key_file: ${server.key}\n` +
        '  cipher_suites: [TLS_AES_128_GCM_SHA256]\n' +
        'basic_auth_users:\n  alice: plain-text-password\n  "bo:b": x\n',
    );
    expect(problems.status).toBe(2);
    expect(problems.stderr.trimEnd().split('\n')).toEqual([
      where +
        'tls_server_config.cipher_suites: not supported by Lifeline (it serves cert_file, key_file, cert, key, ' +
        'client_auth_type, client_ca_file, client_ca, min_version, max_version)',
      where +
        'tls_server_config.cert_file: ' +
        join(dir, 'missing.pem') +
        ' cannot be read (ENOENT)',
      where +
        "basic_auth_users.alice: not a bcrypt hash ($2y$10$ and 53 more characters, as htpasswd -nBC 10 '' writes it)",
      where + 'basic_auth_users: "bo:b" cannot be a user name',
    ]);
    expect(
      check(`tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${other.key}\n`),
    ).toEqual({
      status: 2,
      stderr: where + 'tls_server_config.key_file: is not the key of the certificate\n',
    });
    expect(
      check(`tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n`),
    ).toEqual({
      status: 0,
      stderr: '',
    });
    // The private key is a secret: refused when others may read it, as the console's key is.
    chmodSync(server.key, 0o644);
    expect(
      check(`tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n`),
    ).toEqual({
      status: 2,
      stderr:
        where +
        'tls_server_config.key_file: ' +
        server.key +
        ' is open to group or others (mode 0644): run chmod 600 ' +
        server.key +
        '\n',
    });
    chmodSync(server.key, 0o600);
    expect(check('')).toEqual({ status: 0, stderr: '' }); // an empty file: plain HTTP, as exporters have it
  });

  it('lifeline run refuses to start with a bad web config (exit 2, the same lines)', () => {
    check('basic_auth_users:\n  alice: plain-text-password\n');
    const result = spawnSync(
      process.execPath,
      [BUNDLE, 'run', '--config', join(dir, 'check.json')],
      {
        encoding: 'utf8',
        timeout: 10000,
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^metrics\.webConfigFile: .*: basic_auth_users\.alice: not a bcrypt hash/,
    );
  });

  it('enforces RequireAndVerifyClientCert: no certificate, no connection', async () => {
    const server = certificate('mtls-server', 'IP:127.0.0.1');
    const client = certificate('mtls-client', 'DNS:scraper.test');
    writeFileSync(
      join(dir, 'mtls.yml'),
      `tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n` +
        `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${client.cert}\n`,
    );
    const doc = document() as any;
    doc.metrics = { listen: '127.0.0.1:' + randomPort(), webConfigFile: join(dir, 'mtls.yml') };
    const config = readConfig(doc).config!;
    const hal = new SimHal({ socketsMax: 8, seed: 1 });
    const lifeline = new Lifeline(config, hal, new ExaBgpAnnouncer(config, hal));
    const reports: string[] = [];
    const metrics = await startMetrics({
      listen: config.metricsListen!,
      webConfigFile: config.metricsWebConfigFile,
      sources: { lifeline, speaker: null, auth: null },
      report: (line) => reports.push(line),
    });
    try {
      const port = Number(config.metricsListen!.split(':')[1]);
      const ca = readFileSync(server.cert, 'utf8');
      await expect(fetchOnce({ host: '127.0.0.1', port, tls: { ca } })).rejects.toThrow();
      const tls = {
        ca,
        cert: readFileSync(client.cert, 'utf8'),
        key: readFileSync(client.key, 'utf8'),
      };
      expect((await fetchOnce({ host: '127.0.0.1', port, tls })).status).toBe(200);
      expect(reports).toEqual([]);
    } finally {
      metrics!.close();
    }
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
