// The board bundle's shrink (build/espruino/shrink.mjs) and property mangling
// (build/espruino/mangle.mjs): what they take out, and what they must leave alone. The board
// bundles themselves are held to it in test/integration/espruino-inline.test.ts.
import { describe, expect, it } from 'vitest';
import { mangledConfig, reservedNames } from '../../build/espruino/mangle.mjs';
import {
  INLINE_BLOCK_BYTES_MAX,
  INLINE_BYTES_MAX,
  inlineCalls,
  inlineConstants,
  shrink,
} from '../../build/espruino/shrink.mjs';

const iife = (body: string): string => '(() => {' + body + '})();';
const run = (source: string): unknown => new Function('out', source + ';return out')({});

describe('the shrink', () => {
  it('takes out uncalled methods with made-up names, also those only they called', () => {
    const source = iife(
      'class A { ab() { return this.cd(); } cd() { return 1; } ef() { return 2; } toString() {} }' +
        'out.v = new A().ef();',
    );
    const { text, methods } = shrink(source, new Set(['ab', 'cd', 'ef']));
    expect(methods.sort()).toEqual(['ab', 'cd']);
    expect(text).toContain('ef()');
    expect(text).toContain('toString()'); // not a made-up name: the language may call it
    expect((run(text) as { v: number }).v).toBe(2);
  });

  it('takes out the writes of a property nothing reads, when they do nothing else', () => {
    // A feature that is off leaves such a field: set in the constructor, read behind its constant.
    const source = iife(
      'function f() { out.called = 1; return 3; }' +
        'class A { constructor() { this.ab = 1, this.cd = null, this.ef = f(), this.gh = [2]; ' +
        'this.ij = new Uint8Array(4); } kl() { this.cd = 5; return this.ab; } }' +
        'out.v = new A().kl();',
    );
    const { text, properties } = shrink(source, new Set(['ab', 'cd', 'ef', 'gh', 'ij', 'kl']));
    expect(properties).toBe(4); // cd twice, gh, ij; ab is read, ef's value calls f
    expect(text).not.toMatch(/this\.(cd|gh|ij) =/);
    expect(text).toContain('this.ef = f()');
    expect(run(text)).toEqual({ called: 1, v: 1 });
  });

  it('takes out top-level declarations nothing references, also those only they or a dead method used', () => {
    // A feature that is off leaves such functions: called only from a method the shrink took out.
    const source = iife(
      'function used() { return 1; } function onlyDead(a, b) { return helper(a) + b; }' +
        'function helper(x) { return x; } function again(n) { return n > 0 ? again(n - 1) : 0; }' +
        'var kept = make(), dropped = new Uint8Array(4), table = [1, 2], Unused = class { m() {} };' +
        'function make() { out.made = 1; return 2; } function twice() {}' +
        'class A { ab() { return onlyDead(1, 2); } cd() { return used() + table[0]; } }' +
        'out.v = new A().cd(); { let twice = 3; out.w = twice; }',
    );
    const { text, methods, declarations } = shrink(source, new Set(['ab', 'cd']));
    expect(methods).toEqual(['ab']);
    // helper was used by onlyDead alone: it goes in the next turn; a name bound twice is left.
    expect(declarations.sort()).toEqual(['Unused', 'again', 'dropped', 'helper', 'onlyDead']);
    expect(text).toContain('function used()');
    expect(text).toContain('var kept = make(), table = [1, 2];');
    expect(text).toContain('function twice()');
    expect(run(text)).toEqual({ made: 1, v: 2, w: 3 });
  });

  it('keeps a method named as a string or a key', () => {
    const source = iife('class A { ab() {} cd() {} } out.k = { cd: 1 }; new A()["ab"]();');
    expect(shrink(source, new Set(['ab', 'cd'])).methods).toEqual([]);
  });

  it('drops trailing parameters a function never reads, never one it reads or `arguments`', () => {
    const source = iife(
      'function f(a, b, c) { return a; } const g = (x) => 1; const h = (x, y) => y;' +
        'function k(a) { return arguments.length; } out.c = class C { set v(w) {} };' +
        'out.v = [f(1, 2, 3), g(4), h(5, 6), k(7)].join();',
    );
    const { text, parameters } = shrink(source, new Set());
    expect(parameters).toBe(3);
    expect(text).toContain('function f(a)');
    expect(text).toContain('const g = () =>');
    expect(text).toContain('(x, y) => y');
    expect(text).toContain('function k(a)');
    expect(text).toContain('set v(w)');
    expect((run(text) as { v: string }).v).toBe('1,1,6,1');
  });
});

describe('constants written in where they are used', () => {
  it('inlines literals nothing assigns and nothing else declares, keeps the rest', () => {
    const source = iife(
      'var SIZE = 4 * 1024, NAME = "x", COUNT = 1, LIMIT = 9; let seen = 0; seen++;' +
        'function f(LIMIT) { return LIMIT; } COUNT = 2;' +
        'out.v = [SIZE, NAME, COUNT, f(3), { SIZE }.SIZE, seen, LIMIT].join();',
    );
    const { text, constants } = inlineConstants(source);
    expect(constants).toBe(2); // SIZE and NAME; COUNT is assigned, LIMIT is also a parameter
    expect(text).not.toMatch(/SIZE =|NAME =/);
    expect(text).toMatch(/COUNT = 1/);
    expect(text).toContain('{ SIZE:(4 * 1024) }');
    expect((run(text) as { v: string }).v).toBe('4096,x,2,3,4096,1,9');
  });
});

describe('arrays of names written in as split strings', () => {
  it('replaces one read only by index, length or indexOf, keeps one written or passed on', () => {
    const source = iife(
      'var STATES = ["idle", "up", "a|b"], KEPT = ["x"], GIVEN = ["y"]; KEPT[0] = "z";' +
        'function f(list) { return list.length; }' +
        'out.v = [STATES[1], STATES.length, STATES.indexOf("a|b"), KEPT[0], f(GIVEN)].join();',
    );
    const { text, constants } = inlineConstants(source);
    expect(constants).toBe(1);
    expect(text).toContain('"idle,up,a|b".split(",")');
    expect(text).not.toContain('STATES');
    expect(text).toContain('KEPT = ["x"]');
    expect(text).toContain('GIVEN = ["y"]');
    expect((run(text) as { v: string }).v).toBe('up,3,2,z,1');
  });
});

describe('the embedded config, renamed as the mangled code reads it', () => {
  it('renames read keys, keeps reserved and spelled ones, drops keys no code reads', () => {
    const cache: Record<string, string | false> = { intervalMs: 'a', services: 'b', unread: false };
    const config = {
      intervalMs: 1000,
      services: [{ name: 'dns', prefixes: [{ $bytes: [1, 2] }], damping: null }],
      neverRead: 5,
    };
    const reserved = new Set(['name']);
    expect(mangledConfig(config, cache, reserved, 'x.$bytes')).toEqual({
      a: 1000,
      b: [{ name: 'dns' }],
    });
  });

  it('reserves the library, Espruino and host names the sources use, and enum members', () => {
    const names = reservedNames('.');
    for (const name of [
      'charCodeAt',
      'subarray',
      'log',
      'createSocket',
      'on',
      'memory',
      'medianNs',
    ])
      expect(names.has(name), name).toBe(true);
    expect(names.has('Notification')).toBe(true); // a member of an enum in codec.ts
    expect(names.has('frameLength')).toBe(false);
    // The library has a `resolve` (Promise.resolve), but the board's code calls only its own.
    expect(names.has('resolve')).toBe(false);
  });
});

describe('functions called from one place (or a few) written in there', () => {
  it('moves a method and a function called once to their calls, `this` and all', () => {
    const source = iife(
      'class A { constructor() { this.n = 2; } ab(x, y) { const f = () => this.n; return x * y + f(); }' +
        ' cd() { return 1; } }' +
        'function twice(v) { return v * 2; }' +
        'const a = new A(); out.v = [a.ab(3, 4), twice(5), a.cd(), a.cd(), a.cd(), a.cd()].join();',
    );
    const { text, inlined } = inlineCalls(source, new Set(['ab', 'cd']));
    expect(inlined).toBe(2); // ab and twice; cd from more than INLINE_CALLS_MAX places, as arrows
    expect(text).not.toMatch(/ab\(x, y\) \{|function twice/);
    expect(text).toContain('cd()');
    expect((run(text) as { v: string }).v).toBe('14,10,1,1,1,1');
  });

  it('copies a small function called from a few places to each of them', () => {
    const source = iife(
      'function half(v) { return v / 2; } out.v = [half(4), half(6), half(8)].join();',
    );
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(1);
    expect(text).not.toContain('function half');
    expect(text.match(/=>/g)?.length).toBe(1 + 3); // the bundle's IIFE and the three copies
    expect((run(text) as { v: string }).v).toBe('2,3,4');
  });

  it('copies a longer function, or one called from more places, only where every copy is a block', () => {
    // Each body is over INLINE_BYTES_MAX (a long string); note is called from 5 places, each a
    // statement: 5 blocks. value's second call is used by an expression (an arrow): kept, as is
    // many (called from more than INLINE_BLOCK_CALLS_MAX places).
    const long = JSON.stringify('x'.repeat(INLINE_BYTES_MAX));
    const body = (name: string): string =>
      'function ' +
      name +
      '(k) { out.n = (out.n || 0) + k; out.s = ' +
      long +
      '.length; return k; }';
    const source = iife(
      body('note') +
        body('value') +
        body('many') +
        'note(1); note(2); note(3); note(4); note(5); value(1); out.w = 1 + value(2);' +
        'many(1); many(1); many(1); many(1); many(1); many(1); many(1);',
    );
    expect(source.length).toBeLessThan(3 * INLINE_BLOCK_BYTES_MAX);
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(1);
    expect(text).not.toContain('function note');
    expect(text.match(/\{ out\.n = \(out\.n \|\| 0\) \+ \(\d\);/g)).toHaveLength(5);
    expect(text).toContain('function value(k)');
    expect(text).toContain('function many(k)');
    expect(text.match(/=>/g)?.length).toBe(1); // the IIFE alone
    expect(run(text)).toEqual(run(source));
  });

  it('makes the arrow once, before the loop, when a function is called inside one', () => {
    const source = iife(
      'function half(v) { return v / 2 + 0 * [v].length; }' +
        'function sum(n) { let t = 0; for (let i = 0; i < n; i++) t += half(i); return t; }' +
        'out.v = sum(4);',
    );
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(2); // half into sum, then sum into the top level
    expect(text).toMatch(/let \$inline0=\(v\)=>\{[^}]*\};try\{ let t = 0; for/);
    expect(text).toContain('t += $inline0(i)');
    expect((run(text) as { v: number }).v).toBe(3);
  });

  it('lets go of that arrow when the function returns, whichever way it returns', () => {
    // An arrow holds the scope it was made in, which holds the arrow: without the `finally` the
    // two stayed in memory until the next garbage collection (nine JsVars a call, measured).
    const source = iife(
      'function half(v) { return v / 2 + 0 * [v].length; }' +
        'function first(n) { for (let i = 0; i < n; i++) if (1 <= half(i)) return i; return -1; }' +
        'out.v = [first(5), first(1)].join();',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).toMatch(/\}finally\{\$inline0=void 0\}/);
    expect((run(text) as { v: string }).v).toBe('2,-1');
  });

  it('leaves a function called inside a loop of the top level (the arrow would stay)', () => {
    const source = iife(
      'function half(v) { return v / 2; } let t = 0; for (let i = 0; i < 4; i++) t += half(i);' +
        'out.v = t;',
    );
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(0);
    expect(text).toContain('function half');
  });

  it('writes in a function whose own inner functions bind the names its caller declares too', () => {
    // `half` is copied into both `quarter` and `f` (arrows binding `v`); `quarter` can then still
    // go into `f`, which declares `v` as well: the `v` inside is the copy's own, not taken.
    const source = iife(
      'function half(v) { return v / 2; } function quarter(w) { return half(w) / 2; }' +
        'function f() { const v = 8; return half(v) + quarter(v); } out.v = f();',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).not.toContain('function quarter');
    expect((run(text) as { v: number }).v).toBe(6);
  });

  it('leaves a function called in the arguments of a call of itself, which it would garble', () => {
    const source = iife(
      'function half(v) { return v / 2 + 0 * [v].length; } function quarter(w) { return half(half(w)); }' +
        'out.v = [quarter(8), quarter(16)].join();',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).toContain('function half(v)');
    expect((run(text) as { v: string }).v).toBe('2,4');
  });

  it('takes a string that spells a made-up name for a coincidence, not a use', () => {
    // esbuild made `ms` up for a method: the sources' "ms" (a unit in a log line) cannot mean it.
    const source = iife(
      'class A { ms(x) { return x + 1; } ab() { return 2; } }' +
        'const a = new A(); out.v = [a.ms(1), "ms"].join();',
    );
    const mangled = new Set(['ms', 'ab']);
    expect(shrink(source, mangled).methods).toEqual(['ab']);
    const { text, inlined } = inlineCalls(source, mangled);
    expect(inlined).toBe(1);
    expect(text).not.toMatch(/ms\(x\)/);
    expect((run(text) as { v: string }).v).toBe('2,ms');
  });

  it('writes in a function with a try/catch whose caller catches under the same name', () => {
    const source = iife(
      'function end(s) { try { s.end(); } catch (error) { return 0; } return 1; }' +
        'function f(s) { try { return end(s); } catch (error) { return -1; } }' +
        'out.v = f({ end() {} });',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).not.toContain('function end');
    expect((run(text) as { v: number }).v).toBe(1);
  });

  it('writes a call that is a whole statement in as a block, its names renamed: no arrow made', () => {
    // The caller's `a` is read by the argument: the block's own `a` is renamed, or the argument
    // would read the block's (not yet set) one. An argument that is a name the caller never
    // assigns again (its const `a`, its `v`) is read as it is: no variable for it in the block.
    const source = iife(
      'function note(a) { out.x = a; }' +
        'function twice(a) { const b = a * 2; return b + 0; }' +
        'function f() { const a = 2; note(a + 1); const v = twice(a); let w; w = twice(v); out.y = a; return [v, w]; }' +
        'out.v = f().join();',
    );
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(3); // note, twice (two calls), f (its value is used: an arrow)
    expect(text).toMatch(/\{let \$b\d+_a=a \+ 1; out\.x = \$b\d+_a; \}/);
    expect(text).toMatch(/let v;\{ const \$b\d+_b = a \* 2; v=\(\$b\d+_b \+ 0\); \}/);
    expect(text).toMatch(/let w; \{ const \$b\d+_b = v \* 2; w=\(\$b\d+_b \+ 0\); \}/);
    expect(text.match(/=>/g)?.length).toBe(1 + 1); // the bundle's IIFE and f's arrow
    expect(run(text)).toEqual({ x: 3, y: 2, v: '4,8' });
  });

  it('writes in as blocks the calls minifySyntax hid in `&&`, `?:` and sequences, and in loops', () => {
    const source = iife(
      'class A { constructor() { this.n = 0; } ab(k) { this.n += k; } cd(k) { this.n -= k; } }' +
        'function add(t, k) { t.push(k); }' +
        'const a = new A(), t = []; let c = 1;' +
        'for (let i = 0; i < 3; i++) c && a.ab(i), i > 1 ? add(t, i) : t.push(-i), c = 0, a.cd(1);' +
        'out.v = [a.n, t.join()].join(";");',
    );
    const { text, inlined } = inlineCalls(source, new Set(['ab', 'cd']));
    expect(inlined).toBe(3);
    expect(text).not.toContain('$inline'); // no arrow made before the loop: blocks, in it
    expect(text.match(/=>/g)?.length).toBe(1);
    expect(text).toMatch(
      /if\(c\)\{\{let \$b\d+_self=a,\$b\d+_k=i; \$b\d+_self\.n \+= \$b\d+_k; \}\}/,
    );
    expect((run(text) as { v: string }).v).toBe('-3;0,-1,2');
  });

  it('writes a body that returns early as a block it breaks out of, also from its loops', () => {
    // sign's first call is a block (for(;;){...break}, each return a break); find returns from
    // inside its loop: a flag carries the break out of it. close returns inside a try (the
    // interpreter's finally and break: not relied on), and sign's second call's value is used by
    // an expression: both keep an arrow.
    const source = iife(
      'function sign(v) { if (v < 0) return -1; return 1; }' +
        'function find(t, k) { for (let i = 0; i < t.length; i++) if (t[i] === k) return i; return -1; }' +
        'function close(s) { try { s.end(); return 1; } catch (e) { return 0; } }' +
        'function f(v) { const s = sign(v); let at; at = find([1, 2, 3], v); const c = close({ end() {} });' +
        ' return [s * 2 + sign(-v), at, c].join(); }' +
        'out.v = [f(3), f(-3)].join("/");',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).not.toMatch(/function (sign|find|close)/);
    expect(text).toContain(
      'let s;{let $b0_r;for(;;){ if (v < 0) {$b0_r=(-1);break} {$b0_r=(1);break} break}s=$b0_r;}',
    );
    expect(text).toMatch(
      /\{for \(let i = 0;[^}]*\{\$b\d+_r=\(i\);\$b\d+_d=1;break\}if\(\$b\d+_d\)break;\}/,
    );
    expect(text).toContain('const c = ((s)=>{ try {');
    expect(text).toContain('s * 2 + ((v)=>{ if (v < 0) return -1; return 1; })(-v)');
    expect((run(text) as { v: string }).v).toBe('1,2,1/-1,-1,1');
    expect(run(text)).toEqual(run(source));
  });

  it('takes a call that its statement evaluates first into a name of its own, then the block', () => {
    // `if (step(s) === 1)`: the call comes first, so it may come before the `if`; in `1 + f(x)`
    // the 1 comes first (harmless here, but not in general): an arrow.
    const source = iife(
      'function step(k) { out.n = (out.n || 0) + k; return k > 1 ? 1 : 0; }' +
        'function add(k) { return k + 1; }' +
        'function f(k) { if (step(k) === 1) out.a = 1; const v = add(k) * 2; out.w = 1 + add(v); return v; }' +
        'out.v = f(2);',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).toMatch(/let (\$[\w$]*bt\d+);\{[^}]*\1=\([^;]*\); \}if \(\1 === 1\) out\.a = 1;/);
    expect(text).toMatch(/let (\$[\w$]*bt\d+);\{ \1=\(\$\w+ \+ 1\); \}const \$\w+ = \1 \* 2;/);
    expect(text).toMatch(/out\.w = 1 \+ \(\(\$\w+\)=>\{ return \$\w+ \+ 1; \}\)\(\$\w+\);/);
    expect(text.match(/=>/g)?.length).toBe(1 + 1); // the IIFE and the call of add after `1 +`
    expect(run(text)).toEqual(run(source));
  });

  it('reads a literal argument as it is, and renames a parameter a function inside declares again', () => {
    const source = iife(
      'function put(k, v) { out[k] = v; }' +
        'function wrap(k) { out.f = [1].map((k) => k + 1)[0]; out.k = k; }' +
        'function f() { put("a", 2); wrap(5); } f();',
    );
    const { text } = inlineCalls(source, new Set());
    expect(text).toContain('{ out[("a")] = (2); }');
    expect(text).toMatch(
      /\{let (\$b\d+_k)=5; out\.f = \[1\]\.map\(\(\1\) => \1 \+ 1\)\[0\]; out\.k = \1; \}/,
    );
    expect(run(text)).toEqual({ a: 2, f: 2, k: 5 });
  });

  it('keeps an argument that is a sequence one value, in a block and in an arrow', () => {
    // An earlier pass writes an expression in as `(a, b)`: the node's range leaves out the
    // parentheses, and without them `let k=i++, "a"` does not parse and `(a)=>...)(i++, i)`
    // passes two arguments (twice got 0, not 2).
    const source = iife(
      'function put(k, v) { out[k] = v; }' +
        'function twice(a) { out.n = (out.n || 0) + 1; return a * 2; }' +
        'function f() { let i = 0; put((i++, "a"), (i++, i)); out.w = 1 + twice((i++, i)); out.i = i; }' +
        'f();',
    );
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(3);
    // f is written in too: its `i` renamed.
    expect(text).toMatch(/\{let \$b\d+_k=\(([\w$]+)\+\+, "a"\),\$b\d+_v=\(\1\+\+, \1\);/);
    expect(text).toMatch(/\(\(a\)=>\{[^}]*\}\)\(\(([\w$]+)\+\+, \1\)\)/);
    expect(run(text)).toEqual({ a: 2, n: 1, w: 7, i: 3 });
    expect(run(text)).toEqual(run(source));
  });

  it('leaves a function whose names the call site would capture, or that reads `arguments`', () => {
    const source = iife(
      'const LIMIT = 5; function cap(v) { return Math.min(v, LIMIT); }' +
        'function count() { return arguments.length; }' +
        'function f() { const LIMIT = 1; return cap(9) + count(1, 2); }' +
        'out.v = f() + 0;', // an arrow, not a block (which would rename its LIMIT)
    );
    const { text, inlined } = inlineCalls(source, new Set());
    expect(inlined).toBe(1); // f itself, into the top level; not cap (LIMIT), not count
    expect(text).toContain('function cap(v)');
    expect(text).toContain('function count()');
    expect((run(text) as { v: number }).v).toBe(7);
  });
});
