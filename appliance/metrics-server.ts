// The metrics server on `metrics.listen`: Prometheus text at /metrics, a landing page at /, and
// nothing else (405 with `Allow: GET, HEAD` to other methods). It shares the process, and so the
// file descriptors and the thread, with the probe loop, so it is bounded: at most CONNECTIONS_MAX
// connections (a new one past it first closes the oldest that has no request in flight, so that
// idle connections held open by someone cannot lock the scraper out, and the process never runs
// out of descriptors), headers within HEADERS_MS, no connection idle past IDLE_MS, small headers.
// With `metrics.webConfigFile` it serves TLS and basic auth as Prometheus exporters do
// (appliance/web-config.ts, appliance/basic-auth.ts), with at most HANDSHAKES_PER_SECOND new TLS
// connections.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

import { BasicAuth, type AuthResult } from './basic-auth';
import { renderMetrics, type HttpRefusals, type MetricsSources } from './metrics';
import { VERSION } from './status-metrics';
import { loadWebConfig, type TlsSettings, type WebConfig } from './web-config';

/** Connections open at once: a few scrapers and a person's browser need far fewer. */
export const CONNECTIONS_MAX = 32;
/** Time for a request's headers to arrive, from the connection or the previous response. */
export const HEADERS_MS = 5000;
/** A connection with no traffic either way this long is closed. */
export const IDLE_MS = 5000;
/**
 * New TLS connections per second, and the burst allowed: a handshake costs the loop's thread about
 * a millisecond of public-key work (several on a Pi) before anyone has authenticated, so a flood of
 * them is refused at accept, before the handshake. Scrapers need a few a minute.
 */
export const HANDSHAKES_PER_SECOND = 16;
const HANDSHAKES_BURST = 32;
/** Time for a whole request. */
const REQUEST_MS = 10000;
/** How often Node checks the two above (its default, 30 s, would let them run 6 times over). */
const CHECK_INTERVAL_MS = 1000;
const HEADER_BYTES_MAX = 8192;
const HEADERS_MAX = 32;

export interface MetricsServerOptions {
  /** ADDRESS:PORT or [ADDRESS]:PORT. */
  readonly listen: string;
  /** `metrics.webConfigFile`, or null for plain HTTP without auth. */
  readonly webConfigFile: string | null;
  readonly sources: MetricsSources;
  /** A problem for the audit (`config problem=...`): the server never stops the firmware. */
  readonly report: (line: string) => void;
}

export interface MetricsServer {
  readonly refusals: HttpRefusals;
  close(): void;
}

const LANDING_PAGE = (device: string): string =>
  '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Lifeline ' +
  device +
  '</title></head>\n<body><h1>Lifeline</h1>\n<p>Device ' +
  device +
  ', version ' +
  VERSION +
  '.</p>\n<p><a href="metrics">Metrics</a></p>\n</body></html>\n';

/** A connection's identity, the same for the TCP socket and the TLS socket over it. */
function peerKey(socket: Socket): string {
  return socket.remoteAddress + ' ' + socket.remotePort;
}

/** The open connections, oldest first, each with its requests in flight. */
class Connections {
  private readonly open = new Map<string, { socket: Socket; inFlight: number }>();
  /** The handshake budget (a token bucket), with TLS only. */
  private handshakes = HANDSHAKES_BURST;
  private handshakesAtMs = performance.now();

  constructor(
    private readonly refusals: HttpRefusals,
    private readonly tls: boolean,
  ) {}

  /**
   * Takes a new TCP connection, making room by closing the oldest idle one when full; with TLS,
   * refuses it at once past the handshake budget.
   */
  accept(socket: Socket): void {
    const key = peerKey(socket);
    if (socket.remoteAddress === undefined) return void socket.destroy();
    if (
      (this.tls && !this.handshakeAllowed()) ||
      (this.open.size >= CONNECTIONS_MAX && !this.closeOldestIdle())
    ) {
      this.refusals.connections++;
      socket.destroy();
      return;
    }
    this.open.set(key, { socket, inFlight: 0 });
    socket.once('close', () => {
      if (this.open.get(key)?.socket === socket) this.open.delete(key);
    });
  }

  /** Marks a request in flight on its connection until its response is done or dropped. */
  track(request: IncomingMessage, response: ServerResponse): void {
    const entry = this.open.get(peerKey(request.socket));
    if (entry === undefined) return;
    entry.inFlight++;
    response.once('close', () => entry.inFlight--);
  }

  private handshakeAllowed(): boolean {
    const nowMs = performance.now();
    const earned = ((nowMs - this.handshakesAtMs) * HANDSHAKES_PER_SECOND) / 1000;
    this.handshakes = Math.min(HANDSHAKES_BURST, this.handshakes + earned);
    this.handshakesAtMs = nowMs;
    if (this.handshakes < 1) return false;
    this.handshakes--;
    return true;
  }

  private closeOldestIdle(): boolean {
    for (const [key, entry] of this.open) {
      if (entry.inFlight > 0) continue;
      this.open.delete(key);
      entry.socket.destroy();
      this.refusals.connections++;
      return true;
    }
    return false;
  }

  closeAll(): void {
    for (const entry of this.open.values()) entry.socket.destroy();
    this.open.clear();
  }
}

/** What a request's answer reads and counts. */
interface Context {
  readonly sources: MetricsSources;
  readonly refusals: HttpRefusals;
}

/** Answers an authenticated (or open) request: /metrics, the landing page, 404, or 405. */
function answer(request: IncomingMessage, response: ServerResponse, options: Context): void {
  const method = request.method ?? '';
  if (method !== 'GET' && method !== 'HEAD') {
    options.refusals.method++;
    response.writeHead(405, { allow: 'GET, HEAD', connection: 'close' });
    response.end('method not allowed: use GET or HEAD\n');
    return;
  }
  const path = (request.url ?? '').split('?')[0];
  if (path === '/metrics') {
    const sources = options.sources;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    response.end(renderMetrics(sources, sources.lifeline.nowMs()));
  } else if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(LANDING_PAGE(options.sources.lifeline.config.deviceName));
  } else {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('not found: try /metrics\n');
  }
}

/** The answer to a request whose credentials were checked. */
function authorised(
  result: AuthResult,
  request: IncomingMessage,
  response: ServerResponse,
  options: Context,
): void {
  if (response.destroyed) return; // the client left while its password was checked
  if (result === 'ok') return answer(request, response, options);
  if (result === 'busy') {
    options.refusals.busy++;
    response.writeHead(429, { 'retry-after': '1', connection: 'close' });
    response.end('too many password checks waiting: retry\n');
    return;
  }
  options.refusals.unauthorized++;
  response.writeHead(401, {
    'www-authenticate': 'Basic realm="Lifeline", charset="UTF-8"',
    connection: 'close',
  });
  response.end('unauthorized\n');
}

/** Node's TLS options for the web config's tls_server_config. */
function tlsOptions(tls: TlsSettings) {
  const verify = tls.clientAuth === 'RequireAndVerifyClientCert';
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa === null ? {} : { ca: tls.clientCa }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: verify,
    handshakeTimeout: HEADERS_MS,
  };
}

/**
 * The client certificate rules that Node's options cannot say: RequireAnyClientCert wants one but
 * does not verify it, VerifyClientCertIfGiven verifies one only if given.
 */
function clientCertificateRefused(tls: TlsSettings, socket: TLSSocket): boolean {
  const given = Object.keys(socket.getPeerCertificate()).length > 0;
  if (tls.clientAuth === 'RequireAnyClientCert') return !given;
  return tls.clientAuth === 'VerifyClientCertIfGiven' && given && !socket.authorized;
}

async function createServer(
  web: WebConfig | null,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<Server> {
  const limits = {
    maxHeaderSize: HEADER_BYTES_MAX,
    connectionsCheckingInterval: CHECK_INTERVAL_MS,
    requestTimeout: REQUEST_MS,
    headersTimeout: HEADERS_MS,
    keepAliveTimeout: IDLE_MS,
  };
  const tls = web?.tls ?? null;
  // node:http, and node:https only with TLS, load only when metrics are configured (start-up).
  if (tls === null) return (await import('node:http')).createServer(limits, handler);
  const server = (await import('node:https')).createServer(
    { ...limits, ...tlsOptions(tls) },
    handler,
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    if (clientCertificateRefused(tls, socket)) socket.destroy();
  });
  return server;
}

/** Serves the metrics on `options.listen`; null (and a report) when the web config is unusable. */
export async function startMetrics(options: MetricsServerOptions): Promise<MetricsServer | null> {
  let web: WebConfig | null = null;
  if (options.webConfigFile !== null) {
    // Checked at start already; read again here, it may have changed since. Never plain instead.
    const loaded = loadWebConfig(options.webConfigFile);
    if (loaded.config === null) {
      options.report(
        'metrics: not serving: ' + options.webConfigFile + ': ' + loaded.problems.join('; '),
      );
      return null;
    }
    web = loaded.config;
  }
  const refusals: HttpRefusals = { connections: 0, method: 0, unauthorized: 0, busy: 0 };
  const connections = new Connections(refusals, web?.tls != null);
  const auth = web !== null && web.users.size > 0 ? new BasicAuth(web.users) : null;
  const context: Context = { sources: { ...options.sources, refusals }, refusals };
  const server = await createServer(web, (request, response) => {
    connections.track(request, response);
    if (auth === null) return answer(request, response, context);
    const result = auth.check(request.headers.authorization);
    if (typeof result === 'string') return authorised(result, request, response, context);
    void result.then((settled) => authorised(settled, request, response, context));
  });
  server.maxHeadersCount = HEADERS_MAX;
  server.setTimeout(IDLE_MS); // with no 'timeout' listener, Node closes the socket
  server.on('connection', (socket: Socket) => connections.accept(socket));
  server.on('error', (error) =>
    options.report('metrics: ' + options.listen + ': ' + error.message),
  );
  const colon = options.listen.lastIndexOf(':');
  const host = options.listen.slice(0, colon).replace(/^\[|\]$/g, '');
  server.listen(Number(options.listen.slice(colon + 1)), host);
  return {
    refusals,
    close: () => {
      server.close();
      connections.closeAll();
      auth?.close();
    },
  };
}
