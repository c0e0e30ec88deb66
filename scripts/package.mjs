// `npm run package`: the release for Linux appliances, the Debian packages and the tarball, with
// SHA256SUMS beside them (build/package.mjs makes them).

import { makePackage } from '../build/package.mjs';

const made = await makePackage({ debs: true });
for (const { file, bytes } of [{ file: made.tarball, bytes: made.bytes }, ...made.debs])
  process.stdout.write(file + ' (' + Math.round(bytes / 1024) + ' KB)\n');
process.stdout.write(made.checksums + '\n');
