// Peers that connect to us (`passive`, PASSIVE_PEERS: a board cannot listen, firmware/features.ts):
// one listener per family, local address and port that passive peers share, each with the MD5 keys
// of all its peers; a connection on a listener goes to the passive peer at its address there, whose
// session decides whether to take it (BgpSession.incoming: RFC 4271 6.8).

import { assert } from '../assert';
import type { BgpPeerConfig } from '../config';
import type { Hal, ListenKey, StreamListener } from '../hal';

export class PassiveListeners {
  private readonly listeners: StreamListener[];
  /** Per peer, its listener (-1: not passive). */
  private readonly listenerOf: Int8Array;

  constructor(
    private readonly peers: readonly BgpPeerConfig[],
    hal: Hal,
  ) {
    this.listenerOf = new Int8Array(peers.length).fill(-1);
    const first = this.share();
    this.listeners = [];
    for (let listenerId = 0; listenerId < first.length; listenerId++) {
      const peer = peers[first[listenerId]!]!;
      this.listeners.push(
        hal.listen({
          listenerId,
          family: peer.address.family,
          address: peer.localAddress === null ? null : peer.localAddress.text,
          port: peer.port,
          keys: this.keys(listenerId),
        }),
      );
    }
  }

  /**
   * Gives each passive peer its listener, shared with the earlier peers of the same family, local
   * address and port; returns each listener's first peer.
   */
  private share(): number[] {
    const peers = this.peers;
    const first: number[] = [];
    for (let index = 0; index < peers.length; index++) {
      const peer = peers[index]!;
      if (!peer.passive) continue;
      const local = peer.localAddress === null ? null : peer.localAddress.text;
      for (let other = 0; other < index && this.listenerOf[index] === -1; other++) {
        const same = peers[other]!;
        const sameLocal = same.localAddress === null ? null : same.localAddress.text;
        const shared = same.passive && same.port === peer.port && sameLocal === local;
        if (shared && same.address.family === peer.address.family)
          this.listenerOf[index] = this.listenerOf[other]!;
      }
      if (this.listenerOf[index] !== -1) continue;
      this.listenerOf[index] = first.length;
      first.push(index);
    }
    return first;
  }

  /** The MD5 keys of the peers on listener `listenerId`. */
  private keys(listenerId: number): ListenKey[] {
    const keys: ListenKey[] = [];
    for (let index = 0; index < this.peers.length; index++) {
      const passwordFile = this.peers[index]!.passwordFile;
      if (this.listenerOf[index] === listenerId && passwordFile !== null)
        keys.push({ address: this.peers[index]!.address.text, passwordFile });
    }
    return keys;
  }

  /** The peer a connection from `address` on listener `listenerId` is for, or -1. */
  peerOf(listenerId: number, address: string): number {
    assert(listenerId >= 0 && listenerId < this.listeners.length, 'one of our listeners');
    for (let index = 0; index < this.peers.length; index++)
      if (this.listenerOf[index] === listenerId && this.peers[index]!.address.text === address)
        return index;
    return -1;
  }

  close(): void {
    for (const listener of this.listeners) listener.close();
  }
}
