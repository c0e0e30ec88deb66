// The guides' configuration snippets, for the tests that run them: a snippet a user copies must be
// the one a test runs. Each is a fenced block whose info string names it (```bird, ```frr,
// ```toml for GoBGP, ```exabgp in docs/fleet-safety.md).

import { readFileSync } from 'node:fs';

/** The fenced code blocks of the markdown file at `path` whose info string is `language`. */
export function docBlocks(path: string, language: string): string[] {
  const text = readFileSync(path, 'utf8');
  const pattern = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...text.matchAll(pattern)].map((match) => match[1]!);
}

/** The one block of `language` in `path` (a test fails when there is none, or more than one). */
export function docBlock(path: string, language: string): string {
  const blocks = docBlocks(path, language);
  if (blocks.length !== 1)
    throw new Error(path + ' has ' + blocks.length + ' ```' + language + ' blocks, not one');
  return blocks[0]!;
}

/** `text` with every address of `addresses` (not followed by another digit) replaced. */
export function substitute(text: string, addresses: Readonly<Record<string, string>>): string {
  let result = text;
  for (const [from, to] of Object.entries(addresses)) {
    const pattern = new RegExp(from.replace(/[./]/g, '\\$&') + '(?![0-9])', 'g');
    result = result.replace(pattern, to);
  }
  return result;
}
