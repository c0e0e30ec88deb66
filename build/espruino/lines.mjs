// Breaks a minified bundle into short lines, only after a `;`, `,`, `{` or `}` token and never
// inside a template literal, so that no meaning changes (none of these can end a restricted
// production such as `return`). Why: when Espruino builds an exception's stack trace it pads the
// caret line under each frame with as many spaces as the frame's column, and in a minified bundle
// of a few 14 KB lines one thrown error (a TCP connect to a closed port throws there) cost about
// 1,800 JsVars, the whole free memory of a Pico. esbuild's own lineLimit splits string literals
// with a backslash-newline, which Espruino keeps as a newline.

import * as acorn from 'acorn';

const BREAK_AFTER = new Set([';', ',', '{', '}']);

/** `source` with a newline after a breakable token once a line passes `width` characters. */
export function breakLines(source, width = 100) {
  const cuts = [];
  let lineStart = 0;
  let templateDepth = 0;
  for (const token of acorn.tokenizer(source, { ecmaVersion: 'latest' })) {
    const label = token.type.label;
    if (label === '`') templateDepth = templateDepth === 0 ? 1 : 0;
    const newline = source.lastIndexOf('\n', token.end - 1);
    if (newline >= lineStart) lineStart = newline + 1;
    if (templateDepth > 0 || !BREAK_AFTER.has(label)) continue;
    if (token.end - lineStart < width) continue;
    cuts.push(token.end);
    lineStart = token.end;
  }
  let out = '';
  let from = 0;
  for (const cut of cuts) {
    out += source.slice(from, cut) + '\n';
    from = cut;
  }
  return out + source.slice(from);
}
