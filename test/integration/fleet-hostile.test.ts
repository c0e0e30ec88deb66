// `lifeline fleet` against hostile answers (issue 20 item 14), through the real binary and real
// sockets: a target whose labels carry terminal escapes (a title change by OSC, a screen clear, a
// row hidden by SGR 8 and a forged one after a carriage return, C1 CSI, a bidi override), a target
// whose body never ends, one whose body drips, and a Prometheus that answers the same way. Nothing
// the fleet prints may hold a control character; an endless body is cut off at the size cap (the
// server counts what it could send before the client hung up), a slow one at the deadline; with
// `--once` an unreachable appliance makes the exit status 1, for cron and monitoring.
// LIFELINE_BUNDLE names another build to run (an older one, to see the failures).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ANSWER_MS, BODY_BYTES_MAX } from '../../operator/fleet';
import { randomPort } from '../support/peers';

const HOST = '127.0.18.1';
const ESCAPES = '\x1b]0;owned\x07\x1b[2J\x1b[H\x1b[8m\x9b31m\u202e\x08\r\x1b[K';
/** What a terminal would act on: C0 (but the newline), DEL, C1, line separators, bidi controls. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * What a connection can hold beyond what the reader took: the kernel's largest receive and send
 * buffers (the third figure of tcp_rmem and tcp_wmem), and 1 MiB for the two processes' own.
 */
const BUFFERED_BYTES_MAX = ['tcp_rmem', 'tcp_wmem']
  .map((name) =>
    Number(
      readFileSync('/proc/sys/net/ipv4/' + name, 'utf8')
        .trim()
        .split(/\s+/)[2],
    ),
  )
  .reduce((sum, bytes) => sum + bytes, 2 ** 20);

const PAGE =
  `lifeline_config_info{device="edge${ESCAPES}a",hash="0123456789abcdef"} 1\n` +
  `lifeline_service_status_info{service="dns${ESCAPES}",auto="up",routes="announced",` +
  `reason="rise\\n${ESCAPES}forged row"} 1\n` +
  `lifeline_service_override{service="dns${ESCAPES}"} 0\n`;

interface Hostile {
  server: Server;
  port: number;
  /** Bytes of the endless body written before the client hung up, per request. */
  endlessBytes: number[];
}

/** Writes `chunk` for ever (as fast as the client reads), counting until the client leaves. */
function endless(response: ServerResponse, chunk: string, counts: number[]): void {
  const index = counts.push(0) - 1;
  let open = true;
  response.on('close', () => (open = false));
  const pump = (): void => {
    while (open) {
      counts[index]! += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', pump);
    }
  };
  pump();
}

/** One line every 200 ms, never the end. */
function dripping(response: ServerResponse, line: string): void {
  const timer = setInterval(() => response.write(line), 200);
  response.on('close', () => clearInterval(timer));
}

function vector(series: Record<string, string>[]): string {
  const result = series.map((metric) => ({ metric, value: [1, '1'] }));
  return JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
}

/** The Prometheus API's answers, with escapes in every label and in a down instance. */
function prometheusAnswer(query: string): string {
  if (query.startsWith('up'))
    return vector([{ instance: 'edge-b:9143' + ESCAPES, site: 'b' + ESCAPES, job: 'lifeline' }]);
  const labels = { instance: 'edge-a:9143', site: 'a' + ESCAPES, service: 'dns' + ESCAPES };
  return vector([
    { __name__: 'lifeline_config_info', instance: 'edge-a:9143', device: 'edge' + ESCAPES },
    {
      __name__: 'lifeline_service_status_info',
      ...labels,
      auto: 'up',
      routes: 'announced' + ESCAPES,
      reason: 'rise' + ESCAPES,
    },
  ]);
}

async function start(
  handle: (url: string, response: ServerResponse, counts: number[]) => void,
): Promise<Hostile> {
  const hostile: Hostile = { server: createServer(), port: randomPort(), endlessBytes: [] };
  hostile.server.on('request', (request, response) =>
    handle(request.url ?? '', response, hostile.endlessBytes),
  );
  await new Promise<void>((resolve) => hostile.server.listen(hostile.port, HOST, resolve));
  return hostile;
}

function fleet(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const bundle = process.env['LIFELINE_BUNDLE'] ?? 'dist/lifeline.mjs';
    const child = spawn(process.execPath, [bundle, 'fleet', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('latin1')));
    // A guard for the test itself, far above the fleet's own deadline.
    const guard = setTimeout(() => child.kill('SIGKILL'), 6 * ANSWER_MS);
    child.on('exit', (status) => {
      clearTimeout(guard);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('lifeline fleet against hostile targets and a hostile Prometheus', () => {
  const servers: Hostile[] = [];
  let escapes: Hostile;
  let endlessTarget: Hostile;
  let slowTarget: Hostile;
  let prometheus: Hostile;
  let endlessPrometheus: Hostile;

  beforeAll(async () => {
    escapes = await start((_url, response) => response.end(PAGE));
    endlessTarget = await start((_url, response, counts) =>
      endless(response, '# filler '.repeat(6553) + '\n', counts),
    );
    slowTarget = await start((_url, response) => dripping(response, '# still coming\n'));
    prometheus = await start((url, response) => {
      const query = new URL(url, 'http://x').searchParams.get('query') ?? '';
      response.setHeader('content-type', 'application/json');
      response.end(prometheusAnswer(query));
    });
    endlessPrometheus = await start((_url, response, counts) => {
      response.write('{"status":"success","data":{"resultType":"vector","result":[');
      endless(response, '{"metric":{},"value":[1,"1"]},'.repeat(2048), counts);
    });
    servers.push(escapes, endlessTarget, slowTarget, prometheus, endlessPrometheus);
  });

  afterAll(() => {
    for (const hostile of servers) {
      hostile.server.closeAllConnections();
      hostile.server.close();
    }
  });

  const target = (hostile: Hostile): string => HOST + ':' + hostile.port;

  it('prints no control character a target sent, and exits 0 with --once when all answered', async () => {
    const result = await fleet(['--once', '--targets', target(escapes)]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    const rows = result.stdout.trimEnd().split('\n');
    expect(rows.length).toBe(2); // the header and the one row: nothing forged, nothing hidden
    expect(rows[1]).toMatch(/^127\.0\.18\.1:\d+ +edge\]0;owned\[2J\[H\[8m31m\[Ka +dns/);
    expect(rows[1]).toMatch(/ announced +up +none .* rise\]0;owned.*forged row$/);
  });

  it('prints no control character Prometheus sent; a down appliance makes --once exit 1', async () => {
    const url = 'http://' + target(prometheus);
    const result = await fleet(['--once', '--prometheus', url]);
    expect(result.stdout + result.stderr).not.toMatch(CONTROL);
    expect(result.stdout).toMatch(/^a\]0;owned.* +edge\]0;owned.* +dns\]0;owned.* +announced/m);
    expect(result.stdout).toMatch(/^b\]0;owned.* +unreachable .* edge-b:9143\]0;owned/m);
    expect(result.stderr).toMatch(/^lifeline fleet: edge-b:9143\]0;owned.*: unreachable: up == 0/);
    expect(result.status).toBe(1);
    // Piped without --once it is a view: it prints and exits 0 as before.
    expect((await fleet(['--prometheus', url])).status).toBe(0);
  });

  it('cuts an endless body off at the size cap and a dripping one at the deadline', async () => {
    const targets = [escapes, endlessTarget, slowTarget].map(target).join(',');
    const result = await fleet(['--once', '--targets', targets]);
    expect(result.stdout).not.toMatch(CONTROL);
    const rows = result.stdout.trimEnd().split('\n');
    expect(rows.length).toBe(4);
    const row = (hostile: Hostile): string => rows.find((r) => r.startsWith(target(hostile)))!;
    expect(row(escapes)).toMatch(/ announced /);
    expect(row(endlessTarget)).toMatch(
      new RegExp(' unreachable .* answer larger than ' + BODY_BYTES_MAX.target + ' bytes$'),
    );
    expect(row(slowTarget)).toMatch(/ unreachable .* no whole answer within 5 s$/);
    expect(result.stderr).toMatch(/: unreachable: answer larger than/);
    expect(result.stderr).toMatch(/: unreachable: no whole answer within 5 s/);
    expect(result.status).toBe(1);
    // The client stopped reading at the cap: what the server could write is the cap and what the
    // sockets' buffers held, not the hundreds of MB an uncapped reader takes in 5 s on loopback.
    const sent = endlessTarget.endlessBytes.at(-1)!;
    console.log('endless target: ' + sent + ' bytes written before the client hung up');
    expect(sent).toBeGreaterThan(BODY_BYTES_MAX.target);
    expect(sent).toBeLessThan(BODY_BYTES_MAX.target + BUFFERED_BYTES_MAX);
  });

  it('cuts an endless Prometheus answer off too, and says so', async () => {
    const result = await fleet(['--once', '--prometheus', 'http://' + target(endlessPrometheus)]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(': answer larger than ' + BODY_BYTES_MAX.prometheus + ' bytes$', 'm'),
    );
    const sent = endlessPrometheus.endlessBytes.at(-1)!;
    expect(sent).toBeLessThan(BODY_BYTES_MAX.prometheus + BUFFERED_BYTES_MAX);
  });
});
