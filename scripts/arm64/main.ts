// The core's unit tests, bundled to run on Debian 12's Node 18 for amd64, arm64 and armhf
// (scripts/node18-check.sh): the same test files as `npm test`, on the vitest stand-in.

import '../../test/unit/config.test';
import '../../test/unit/dns.test';
import '../../test/unit/engine.test';
import '../../test/unit/crypto.test';
import '../../test/unit/bgp-codec.test';
import '../../test/unit/bgp-session.test';
import '../../test/unit/console.test';
import { runAll } from './vitest-shim';

process.stdout.write('node ' + process.version + ' on ' + process.arch + '\n');
runAll().then((failed) => process.exit(failed === 0 ? 0 : 1));
