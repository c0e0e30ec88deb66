// An in-process BGP route collector for the lab: a passive BGP peer on loopback that accepts the
// firmware's session (OPEN, KEEPALIVE), keeps its routes in a table from the UPDATEs it receives
// (IPv4 NLRI and withdrawn routes, MP_REACH/MP_UNREACH for IPv6), and timestamps every change.

import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import { formatIPv4, formatIPv6 } from '../firmware/address';
import { encodeKeepalive, encodeOpen, FAMILY_IPV4, FAMILY_IPV6 } from '../firmware/bgp/codec';

export interface CollectedRoute {
  readonly nextHop: string;
  readonly med: number;
}

export class RouteCollector {
  readonly routes = new Map<string, CollectedRoute>();
  /** Every change, with performance.now() time: `+ prefix` or `- prefix`. */
  readonly changes: { atMs: number; change: string }[] = [];
  established = false;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private keepalive: NodeJS.Timeout | null = null;

  constructor(private readonly as = 65000) {
    this.server = createServer((socket) => this.accept(socket));
  }

  listen(address = '127.0.0.1'): Promise<number> {
    return new Promise((resolve) =>
      this.server.listen(0, address, () =>
        resolve((this.server.address() as { port: number }).port),
      ),
    );
  }

  private accept(socket: Socket): void {
    let buffer = Buffer.alloc(0);
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.established = false;
      if (this.keepalive !== null) clearInterval(this.keepalive);
      for (const prefix of [...this.routes.keys()]) this.change('-', prefix); // no graceful restart
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 19 && buffer.length >= buffer.readUInt16BE(16)) {
        const length = buffer.readUInt16BE(16);
        this.handle(socket, buffer.subarray(0, length));
        buffer = buffer.subarray(length);
      }
    });
  }

  private handle(socket: Socket, message: Buffer): void {
    const type = message[18];
    const out = new Uint8Array(128);
    if (type === 1) {
      const open = encodeOpen(out, 0, {
        localAs: this.as,
        holdTimeS: 90,
        routerId: new Uint8Array([127, 0, 0, 9]),
        families: FAMILY_IPV4 | FAMILY_IPV6,
      });
      socket.write(Buffer.from(out.subarray(0, open)));
      socket.write(Buffer.from(out.subarray(0, encodeKeepalive(out, 0))));
      this.keepalive = setInterval(
        () => socket.write(Buffer.from(out.subarray(0, encodeKeepalive(out, 0)))),
        30000,
      );
    } else if (type === 4) {
      this.established = true;
    } else if (type === 2) {
      this.update(message);
    }
  }

  private change(sign: '+' | '-', prefix: string, route?: CollectedRoute): void {
    if (sign === '+') this.routes.set(prefix, route!);
    else if (!this.routes.delete(prefix)) return;
    this.changes.push({ atMs: performance.now(), change: sign + ' ' + prefix });
  }

  /** Reads the prefixes of an NLRI field. */
  private prefixes(bytes: Buffer, at: number, end: number, family: 4 | 6): string[] {
    const found: string[] = [];
    while (at < end) {
      const bits = bytes[at]!;
      const address = new Uint8Array(family === 4 ? 4 : 16);
      address.set(bytes.subarray(at + 1, at + 1 + ((bits + 7) >> 3)));
      found.push((family === 4 ? formatIPv4(address, 0) : formatIPv6(address, 0)) + '/' + bits);
      at += 1 + ((bits + 7) >> 3);
    }
    return found;
  }

  private update(message: Buffer): void {
    const withdrawnLength = message.readUInt16BE(19);
    for (const prefix of this.prefixes(message, 21, 21 + withdrawnLength, 4))
      this.change('-', prefix);
    const attributesAt = 23 + withdrawnLength;
    const attributesEnd = attributesAt + message.readUInt16BE(21 + withdrawnLength);
    let nextHop = '';
    let med = -1;
    const announced: string[] = [];
    for (let at = attributesAt; at < attributesEnd;) {
      const extended = (message[at]! & 0x10) !== 0;
      const type = message[at + 1]!;
      const length = extended ? message.readUInt16BE(at + 2) : message[at + 2]!;
      const value = at + (extended ? 4 : 3);
      if (type === 3) nextHop = formatIPv4(message, value);
      if (type === 4) med = message.readUInt32BE(value);
      if (type === 14) {
        nextHop = formatIPv6(message, value + 4);
        announced.push(
          ...this.prefixes(message, value + 5 + message[value + 3]!, value + length, 6),
        );
      }
      if (type === 15)
        for (const prefix of this.prefixes(message, value + 3, value + length, 6))
          this.change('-', prefix);
      at = value + length;
    }
    announced.push(...this.prefixes(message, attributesEnd, message.length, 4));
    for (const prefix of announced) this.change('+', prefix, { nextHop, med });
  }

  close(): void {
    if (this.keepalive !== null) clearInterval(this.keepalive);
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
  }
}
