// A small DNS responder on loopback, for the lab and the tests: it answers every question of type A
// or AAAA with one address and any other type with NOERROR and no records. `silent` makes it drop
// everything (a cut backbone seen from the appliance). It is a test peer, not a DNS server.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface ResponderOptions {
  readonly address: string;
  readonly port?: number;
  readonly answerV4?: readonly number[];
  readonly answerV6?: readonly number[];
}

export class DnsResponder {
  silent = false;
  queries = 0;
  private readonly socket: Socket;

  private constructor(
    socket: Socket,
    private readonly options: ResponderOptions,
  ) {
    this.socket = socket;
    socket.on('message', (message, remote) => this.answer(message, remote));
  }

  static async start(options: ResponderOptions): Promise<DnsResponder> {
    const socket = createSocket(options.address.indexOf(':') >= 0 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 0, options.address, () => resolve());
    });
    return new DnsResponder(socket, options);
  }

  get port(): number {
    return this.socket.address().port;
  }

  private answer(query: Buffer, remote: RemoteInfo): void {
    this.queries++;
    if (this.silent || query.length < 17) return;
    let end = 12;
    while (end < query.length && query[end] !== 0) end += query[end]! + 1;
    end += 5; // the root label, QTYPE, QCLASS
    if (end > query.length) return;
    const type = query.readUInt16BE(end - 4);
    const address =
      type === 1
        ? (this.options.answerV4 ?? [203, 0, 113, 53])
        : type === 28
          ? (this.options.answerV6 ?? [
              0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
            ])
          : null;
    const reply = Buffer.alloc(end + (address === null ? 0 : 12 + address.length));
    query.copy(reply, 0, 0, end);
    reply[2] = 0x80 | (query[2]! & 0x01);
    reply[3] = 0x80;
    reply.writeUInt16BE(0, 6);
    reply.writeUInt32BE(0, 8);
    if (address !== null) {
      reply.writeUInt16BE(1, 6);
      reply.set([0xc0, 12, 0, type, 0, 1, 0, 0, 0, 0, 0, address.length], end);
      reply.set(address, end + 12);
    }
    this.socket.send(reply, remote.port, remote.address);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
