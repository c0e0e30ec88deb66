// The fleet view with the ExaBGP announcer (appliance/exabgp-fleet.ts): ExaBGP 4's JSON messages on
// stdin (the format of its reactor/api/response/json.py), read into the fleet table.

import { describe, expect, it } from 'vitest';

import { readConfig } from '../../config/validate';
import { ExaBgpFleet } from '../../appliance/exabgp-fleet';
import { document } from '../helpers';

const HEAD =
  '{ "exabgp": "4.2.21", "time": 1700000000.0, "host" : "lab", "pid" : 7, "ppid" : 1, ' +
  '"counter": 1, ';
const NEIGHBOR =
  '"neighbor": { "address": { "local": "127.0.12.1", "peer": "127.0.12.2" }, ' +
  '"asn": { "local": 65010, "peer": 65000 } ';

const state = (value: string): string =>
  HEAD + '"type": "state", ' + NEIGHBOR + ', "state": "' + value + '" } }';

function update(body: string): string {
  return (
    HEAD + '"type": "update", ' + NEIGHBOR + ', "direction": "receive", "message": ' + body + ' } }'
  );
}

function announce(site: number, pathId: string, extra = '', asPath = '65000, 65010'): string {
  return update(
    '{ "update": { "attribute": { "origin": "igp", "as-path": [ ' +
      asPath +
      ' ], ' +
      '"community": [ [ 65010, ' +
      site +
      ' ]' +
      extra +
      ' ] }, "announce": { "ipv4 unicast": { "192.0.2.99": [ { "nlri": "192.0.2.53/32", ' +
      '"path-information": "' +
      pathId +
      '" } ] }, "ipv6 unicast": { "2001:db8::99": [ { "nlri": "2001:db8:53::/48", ' +
      '"path-information": "' +
      pathId +
      '" } ] } } } }',
  );
}

function fleet(): ExaBgpFleet {
  const doc = document();
  doc['fleet'] = { siteCommunity: '65010:1', lastResortCommunity: '65010:666' };
  return new ExaBgpFleet(readConfig(doc).config!);
}

describe('fleet view from ExaBGP messages', () => {
  it('counts other sites from received updates with path information, per neighbour session', () => {
    const view = fleet();
    view.received(state('up') + '\n');
    expect(view.table.known(0)).toBe(false);
    view.received(announce(2, '0.0.0.1') + '\n' + announce(3, '0.0.0.2') + '\n');
    expect(view.table.known(0)).toBe(true);
    expect(view.table.healthyOthers(0)).toBe(2);
    // Split across reads, and a last-resort replacement of path 2.
    const line = announce(3, '0.0.0.2', ', [ 65010, 666 ]') + '\n';
    view.received(line.slice(0, 50));
    expect(view.table.healthyOthers(0)).toBe(2);
    view.received(line.slice(50));
    expect(view.table.healthyOthers(0)).toBe(1);
    view.received(
      update(
        '{ "update": { "withdraw": { "ipv4 unicast": [ { "nlri": "192.0.2.53/32", ' +
          '"path-information": "0.0.0.1" } ] } } }',
      ) + '\n',
    );
    expect(view.table.healthyOthers(0)).toBe(0);
    view.received(announce(4, '0.0.0.9') + '\n');
    expect(view.table.healthyOthers(0)).toBe(1);
    view.received(state('down') + '\n');
    expect(view.table.known(0)).toBe(false);
    expect(view.table.healthyOthers(0)).toBe(0);
    view.received(state('up') + '\n');
    view.received(update('{ "eor": { "afi" : "ipv4", "safi" : "unicast" } }') + '\n');
    expect(view.table.known(0)).toBe(true);
    expect(view.table.notices).toEqual([]);
  });

  it('notices a neighbour without ADD-PATH, and skips acknowledgements and garbage', () => {
    const view = fleet();
    view.received(state('up') + '\ndone\nerror\n{ "not": "exabgp" }\n{ broken\n');
    const plain = announce(2, '0.0.0.1').split(', "path-information": "0.0.0.1"').join('');
    view.received(plain + '\n');
    expect(view.table.healthyOthers(0)).toBe(1);
    expect(view.table.notices).toEqual([
      'fleet peer=127.0.12.2 add-path=no: sees at most one other site',
    ]);
    expect(view.unreadable).toBe(2);
  });

  it("counts a path as a site only when its origin AS is the fleet's (ExaBGP's local AS)", () => {
    const view = fleet();
    view.received(state('up') + '\n');
    // A leak with the site community (origin 64999), one the router made (an empty path: its
    // own AS), one ending in an AS_SET: none is a site.
    view.received(announce(2, '0.0.0.1', '', '65000, 64999') + '\n');
    view.received(announce(3, '0.0.0.2', '', '') + '\n');
    view.received(
      announce(4, '0.0.0.3').replace('"as-path": [ 65000, 65010 ]', '"as-set": [ 65010 ]') + '\n',
    );
    expect(view.table.known(0)).toBe(true);
    expect(view.table.healthyOthers(0)).toBe(0);
    view.received(announce(5, '0.0.0.4') + '\n');
    expect(view.table.healthyOthers(0)).toBe(1);
  });

  it("counts only the families the session negotiated (ExaBGP's negotiated message)", () => {
    const view = fleet();
    const negotiated = (families: string): string =>
      HEAD +
      '"type": "negotiated", ' +
      NEIGHBOR +
      ', "negotiated": { "message_size": 4096, "hold_time": 180, "asn4": true, "families": [ ' +
      families +
      ' ], "add_path": { "send": [  ], "receive": [ ' +
      families +
      ' ] } } } }';
    view.received(negotiated('"ipv4 unicast"') + '\n' + state('up') + '\n');
    // Two sites on the IPv4 prefix; the IPv6 one no session carries.
    view.received(
      announce(2, '0.0.0.1').replace(/, "ipv6 unicast": .*\] \} \} \} \}$/, ' } } } }') + '\n',
    );
    view.received(
      announce(3, '0.0.0.2').replace(/, "ipv6 unicast": .*\] \} \} \} \}$/, ' } } } }') + '\n',
    );
    expect(view.unreadable).toBe(0);
    expect(view.table.healthyOthers(0)).toBe(2);
    expect(view.table.unseen(0)).toBe(2);
    expect(view.table.notices).toEqual([
      'fleet family=ipv6 seen=no: no session carries it, so its prefixes are not counted',
    ]);
    // The next session carries both: the IPv6 prefix counts again (no site announces it yet).
    view.received(state('down') + '\n' + negotiated('"ipv4 unicast" ,"ipv6 unicast"') + '\n');
    view.received(state('up') + '\n' + announce(2, '0.0.0.1') + '\n');
    expect(view.table.unseen(0)).toBe(0);
    expect(view.table.healthyOthers(0)).toBe(1);
  });
});
