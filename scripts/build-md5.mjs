// Builds the TCP MD5 addon for this machine or the architectures named (build/md5.mjs):
// `node scripts/build-md5.mjs [x64|arm64|arm]...`

import { buildMd5 } from '../build/md5.mjs';

const arches = process.argv.length > 2 ? process.argv.slice(2) : [process.arch];
const problems = buildMd5(arches);
for (const line of problems) process.stderr.write(line + '\n');
process.exit(problems.length === 0 ? 0 : 1);
