// `npm run package`: the release tarball for Linux appliances (build/package.mjs makes it).

import { makePackage } from '../build/package.mjs';

const made = await makePackage();
process.stdout.write(made.tarball + ' (' + Math.round(made.bytes / 1024) + ' KB)\n');
