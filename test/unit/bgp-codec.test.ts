// The BGP message codec against byte-exact vectors captured on this machine from real peers
// (Debian's ExaBGP 4.2.21 announcing the same routes, BIRD 2.0.12's OPEN), the RFC's NOTIFICATION
// for each kind of broken message, and round trips.

import { describe, expect, it } from 'vitest';

import { parseAddress, parsePrefix, type Prefix } from '../../firmware/address';
import {
  BgpError,
  checkHeader,
  checkUpdate,
  encodeAnnounce,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeWithdraw,
  FAMILY_IPV4,
  FAMILY_IPV6,
  OpenInfo,
  parseOpen,
  UpdateVerdict,
} from '../../firmware/bgp/codec';

const hex = (bytes: Uint8Array, length = bytes.length): string =>
  Buffer.from(bytes.subarray(0, length)).toString('hex');
const bytes = (text: string): Uint8Array =>
  new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const prefix = (text: string): Prefix => parsePrefix(text) as Prefix;
const MARKER = 'ffffffffffffffffffffffffffffffff';

/** Captured from ExaBGP 4.2.21: local-as 65010, router-id 192.0.2.10, 4-octet AS negotiated. */
const EXABGP = {
  open:
    MARKER + '00390104fdf2005ac000020a1c02060104000100010206010400020001020641040000fdf202020600',
  announce4: MARKER + '003002000000144001010040020602010000fdf2400304c000020a20c0000235',
  announce6:
    MARKER +
    '004d02000000364001010040020602010000fdf2800e260002011020010db8000000000000000000000010' +
    '008020010db8005300000000000000000053',
  announce4Attributes:
    MARKER +
    '004202000000264001010040020602010000fdf2400304c000020a800404000003e8c00808fdf2029afdf20001' +
    '20c0000235',
  withdraw4: MARKER + '001c02000520c00002350000',
  withdraw6Unreach: '800f140002018020010db8005300000000000000000053',
  endOfRib4: MARKER + '00170200000000',
  endOfRib6: MARKER + '001e0200000007900f0003000201',
};
/**
 * Captured from BIRD 2.0.12 (AS 65000): MP, route refresh, graceful restart, AS4, enhanced RR,
 * LLGR.
 */
const BIRD_OPEN =
  MARKER + '003b0104fde800097f0000021e021c01040001000101040002000102004002007841040000fde846004700';

const route = (as4: boolean, nextHop: string, med = -1, communities: number[] = []) => ({
  localAs: 65010,
  as4,
  nextHop: parseAddress(nextHop)!,
  med,
  communities,
});

describe('BGP codec: byte-exact against captured peers', () => {
  it('encodes announcements exactly as ExaBGP does: IPv4 /32, IPv6 /128, with MED and communities', () => {
    const out = new Uint8Array(4096);
    expect(
      hex(out, encodeAnnounce(out, 0, prefix('192.0.2.53/32'), route(true, '192.0.2.10'))),
    ).toBe(EXABGP.announce4);
    expect(
      hex(out, encodeAnnounce(out, 0, prefix('2001:db8:53::53/128'), route(true, '2001:db8::10'))),
    ).toBe(EXABGP.announce6);
    const attributes = route(true, '192.0.2.10', 1000, [65010 * 65536 + 666, 65010 * 65536 + 1]);
    expect(hex(out, encodeAnnounce(out, 0, prefix('192.0.2.53/32'), attributes))).toBe(
      EXABGP.announce4Attributes,
    );
  });

  it('encodes withdrawals as ExaBGP does (IPv6: the same MP_UNREACH_NLRI, without the needless ORIGIN and AS_PATH)', () => {
    const out = new Uint8Array(4096);
    expect(hex(out, encodeWithdraw(out, 0, prefix('192.0.2.53/32')))).toBe(EXABGP.withdraw4);
    const length = encodeWithdraw(out, 0, prefix('2001:db8:53::53/128'));
    expect(hex(out, length)).toBe(
      MARKER + '002e' + '02' + '0000' + '0017' + EXABGP.withdraw6Unreach,
    );
  });

  it('parses the OPENs of ExaBGP and BIRD, one capability per parameter or all in one', () => {
    const info = new OpenInfo();
    const error = new BgpError();
    const open = bytes(EXABGP.open);
    expect(checkHeader(open, 0, open.length, error)).toBe(open.length);
    expect(parseOpen(open, 0, open.length, info, error)).toBe(true);
    // ExaBGP advertised no route refresh; its last parameter is capability 6 (extended message).
    expect(info).toMatchObject({
      peerAs: 65010,
      holdTimeS: 90,
      as4: true,
      routeRefresh: false,
      families: FAMILY_IPV4 | FAMILY_IPV6,
      identifier: 0xc000020a,
    });
    const bird = bytes(BIRD_OPEN);
    expect(parseOpen(bird, 0, bird.length, info, error)).toBe(true);
    expect(info).toMatchObject({
      peerAs: 65000,
      holdTimeS: 9,
      as4: true,
      families: FAMILY_IPV4 | FAMILY_IPV6,
    });
  });

  it('encodes an OPEN that BIRD accepted (it answered KEEPALIVE), and parses it back', () => {
    const out = new Uint8Array(4096);
    const length = encodeOpen(out, 0, {
      localAs: 65010,
      holdTimeS: 9,
      routerId: new Uint8Array([192, 0, 2, 10]),
      families: FAMILY_IPV4 | FAMILY_IPV6,
    });
    expect(hex(out, length)).toBe(
      MARKER + '00330104fdf20009c000020a160214010400010001010400020001020041040000fdf2',
    );
    const info = new OpenInfo();
    expect(parseOpen(out, 0, length, info, new BgpError())).toBe(true);
    expect(info).toMatchObject({ peerAs: 65010, holdTimeS: 9, as4: true, routeRefresh: true });
  });

  it('takes ExaBGP UPDATEs and End-of-RIB markers as valid', () => {
    const error = new BgpError();
    for (const message of [
      EXABGP.announce4,
      EXABGP.announce6,
      EXABGP.announce4Attributes,
      EXABGP.withdraw4,
      EXABGP.endOfRib4,
      EXABGP.endOfRib6,
    ]) {
      const update = bytes(message);
      expect(checkHeader(update, 0, update.length, error)).toBe(update.length);
      expect(checkUpdate(update, 0, update.length, true, error), message).toBe(UpdateVerdict.Valid);
    }
  });

  it('uses AS_TRANS and AS4_PATH towards a peer without 4-octet AS numbers (RFC 6793)', () => {
    const out = new Uint8Array(4096);
    const big = { ...route(false, '192.0.2.10'), localAs: 4200000000 };
    const length = encodeAnnounce(out, 0, prefix('192.0.2.53/32'), big);
    const text = hex(out, length);
    expect(text).toContain('40020402015ba0'); // AS_PATH: one AS_SEQUENCE of AS_TRANS (23456)
    expect(text).toContain('c011060201' + (4200000000).toString(16)); // AS4_PATH: the real AS
    expect(checkUpdate(out, 0, length, false, new BgpError())).toBe(UpdateVerdict.Valid);
    const small = encodeAnnounce(out, 0, prefix('192.0.2.53/32'), route(false, '192.0.2.10'));
    expect(hex(out, small)).toContain('4002040201fdf2');
  });

  it('encodes KEEPALIVE and NOTIFICATION', () => {
    const out = new Uint8Array(64);
    expect(hex(out, encodeKeepalive(out, 0))).toBe(MARKER + '001304');
    const error = new BgpError();
    error.set(2, 2, 65001, 2);
    expect(hex(out, encodeNotification(out, 0, error))).toBe(MARKER + '0017030202fde9');
  });
});

describe('BGP codec: broken messages get the RFC 4271 NOTIFICATION', () => {
  const header = (text: string): { result: number; error: BgpError } => {
    const error = new BgpError();
    const message = bytes(text);
    return { result: checkHeader(message, 0, message.length, error), error };
  };

  it('checks the header: marker, length, type (6.1)', () => {
    expect(header('00' + MARKER.slice(2) + '001304').error).toMatchObject({ code: 1, subcode: 1 });
    expect(header(MARKER + '001204').error).toMatchObject({ code: 1, subcode: 2, dataLength: 2 });
    expect(header(MARKER + '00140400').error).toMatchObject({ code: 1, subcode: 2 }); // KEEPALIVE is 19
    expect(header(MARKER + '1001' + '02').error).toMatchObject({ code: 1, subcode: 2 }); // 4097 bytes
    expect(header(MARKER + '001309').error).toMatchObject({ code: 1, subcode: 3, dataLength: 1 });
    expect(header(MARKER + '0013').result).toBe(0); // more bytes needed
    expect(header(MARKER + '00170200').result).toBe(0);
  });

  it('checks the OPEN: version, hold time, identifier, parameters (6.2)', () => {
    const open = (edit: (message: Uint8Array) => void): BgpError => {
      const message = bytes(EXABGP.open);
      edit(message);
      const error = new BgpError();
      expect(parseOpen(message, 0, message.length, new OpenInfo(), error)).toBe(false);
      return error;
    };
    expect(open((m) => (m[19] = 3))).toMatchObject({ code: 2, subcode: 1, dataLength: 2 });
    expect(open((m) => (m[23] = 2))).toMatchObject({ code: 2, subcode: 6 });
    expect(open((m) => m.fill(0, 24, 28))).toMatchObject({ code: 2, subcode: 3 });
    expect(open((m) => (m[29] = 9))).toMatchObject({ code: 2, subcode: 4 });
    expect(open((m) => (m[28] = 0x1d))).toMatchObject({ code: 1, subcode: 2 });
  });

  it('resets the session on UPDATE framing errors and treats malformed attributes as withdraw (RFC 7606)', () => {
    const verdict = (
      text: string,
      edit: (message: Uint8Array) => void,
    ): [UpdateVerdict, number, number] => {
      const message = bytes(text);
      edit(message);
      const error = new BgpError();
      return [checkUpdate(message, 0, message.length, true, error), error.code, error.subcode];
    };
    expect(verdict(EXABGP.withdraw4, (m) => (m[20] = 0x40))).toEqual([
      UpdateVerdict.SessionReset,
      3,
      1,
    ]);
    expect(verdict(EXABGP.announce4, (m) => (m[22] = 0x40))).toEqual([
      UpdateVerdict.SessionReset,
      3,
      1,
    ]);
    expect(verdict(EXABGP.announce4, (m) => (m[43] = 33))).toEqual([
      UpdateVerdict.SessionReset,
      3,
      10,
    ]);
    expect(verdict(EXABGP.announce4, (m) => (m[26] = 7))).toEqual([
      UpdateVerdict.TreatAsWithdraw,
      0,
      0,
    ]); // ORIGIN 7
    // Offsets: ORIGIN at 23-26, AS_PATH at 27-35 (length at 29, segment type at 30), NEXT_HOP at
    // 36.
    const segment = UpdateVerdict.TreatAsWithdraw;
    expect(verdict(EXABGP.announce4, (m) => (m[30] = 9))).toEqual([segment, 0, 0]); // segment type 9
    expect(verdict(EXABGP.announce4, (m) => (m[29] = 9))).toEqual([
      UpdateVerdict.SessionReset,
      3,
      1,
    ]);
    expect(verdict(EXABGP.announce4, (m) => (m[37] = 99))).toEqual([
      UpdateVerdict.TreatAsWithdraw,
      0,
      0,
    ]); // no NEXT_HOP
  });

  it('round-trips every message it can send, and survives 100,000 mutated ones without an exception', () => {
    const out = new Uint8Array(4096);
    const messages: Uint8Array[] = [];
    for (const text of [
      '192.0.2.53/32',
      '198.51.100.0/24',
      '2001:db8:53::/48',
      '2001:db8:53::53/128',
      '0.0.0.0/0',
    ]) {
      const p = prefix(text);
      const nh = p.family === 4 ? '192.0.2.10' : '2001:db8::10';
      for (const as4 of [true, false])
        messages.push(out.slice(0, encodeAnnounce(out, 0, p, route(as4, nh, 5, [1, 2]))));
      messages.push(out.slice(0, encodeWithdraw(out, 0, p)));
    }
    const error = new BgpError();
    for (const message of messages) {
      expect(checkHeader(message, 0, message.length, error)).toBe(message.length);
      expect(checkUpdate(message, 0, message.length, message.length > 40, error)).not.toBe(
        UpdateVerdict.SessionReset,
      );
    }
    let seed = 99;
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    const buffer = new Uint8Array(4096);
    for (let i = 0; i < 100000; i++) {
      const base = messages[i % messages.length]!;
      buffer.set(base);
      for (let m = 0; m < 1 + (i % 4); m++)
        buffer[19 + Math.floor(random() * (base.length - 19))] = (random() * 256) | 0;
      const length = checkHeader(buffer, 0, base.length, error);
      if (length > 0) checkUpdate(buffer, 0, length, i % 2 === 0, error);
    }
  });
});
