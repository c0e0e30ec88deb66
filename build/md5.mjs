// Builds the TCP MD5 addon (native/tcp-md5/tcp_md5.c) without node-gyp, which would fetch Node's
// headers from the internet: the Node-API headers come from the npm package node-api-headers and
// the compilers from Debian (gcc; gcc-aarch64-linux-gnu and gcc-arm-linux-gnueabihf with their
// libc6-dev-*-cross for a Pi). Writes dist/tcp-md5/linux-ARCH/tcp_md5.node, next to the bundle,
// where hal/node/md5.ts looks for it. Entry point: scripts/build-md5.mjs.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const MD5_COMPILERS = {
  x64: 'x86_64-linux-gnu-gcc',
  arm64: 'aarch64-linux-gnu-gcc',
  arm: 'arm-linux-gnueabihf-gcc',
};

/** The compiler for `arch`: the native gcc on its own architecture, else the cross compiler. */
function compilerFor(arch) {
  if (arch === process.arch && spawnSync('gcc', ['--version']).status === 0) return 'gcc';
  return MD5_COMPILERS[arch];
}

/**
 * Builds the addon for each of `arches`; returns the problems (one line each), empty when every
 * build succeeded.
 */
export function buildMd5(arches) {
  const include = join(
    dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')),
    'include',
  );
  const problems = [];
  for (const arch of arches) {
    const compiler = compilerFor(arch);
    if (compiler === undefined) {
      problems.push('tcp-md5: no compiler known for ' + arch);
      continue;
    }
    const out = join('dist', 'tcp-md5', 'linux-' + arch);
    mkdirSync(out, { recursive: true });
    const result = spawnSync(
      compiler,
      [
        ...['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-std=c11'],
        ...['-D_GNU_SOURCE', '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=tcp_md5'],
        ...['-I', include, '-o', join(out, 'tcp_md5.node'), 'native/tcp-md5/tcp_md5.c'],
      ],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) {
      const why = result.error?.message ?? result.stderr.trim();
      problems.push('tcp-md5: ' + compiler + ' for linux-' + arch + ' failed: ' + why);
    }
  }
  return problems;
}
