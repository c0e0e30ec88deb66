// A small stand-in for vitest's describe/it/expect, so that the core's own test files run on a Node
// that vitest does not support (Debian's arm64 nodejs 18, under qemu): the same files, the same
// assertions, a plain `N passed, N failed` line at the end.

type Body = () => void | Promise<void>;
const tests: { name: string; body: Body }[] = [];
const prefix: string[] = [];

function describeImpl(name: string, body: () => void): void {
  prefix.push(name);
  body();
  prefix.pop();
}
export const describe = Object.assign(describeImpl, {
  skipIf: (skip: boolean) => (skip ? () => {} : describeImpl),
});
export const it = (name: string, body: Body): void => {
  tests.push({ name: [...prefix, name].join(' > '), body });
};
export const beforeAll = (body: Body): void => {
  tests.push({ name: 'beforeAll', body });
};
export const afterAll = beforeAll;
export const afterEach = (): void => {};

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if ((b as { asymmetric?: (value: unknown) => boolean }).asymmetric)
    return (b as { asymmetric: (v: unknown) => boolean }).asymmetric(a);
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every((key) => same((a as never)[key], (b as never)[key]))
  );
}

function contains(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== 'object' || expected === null) return same(actual, expected);
  return (
    typeof actual === 'object' &&
    actual !== null &&
    Object.keys(expected).every((key) => contains((actual as never)[key], (expected as never)[key]))
  );
}

function matchers(actual: unknown, negate: boolean, message: string) {
  const check = (ok: boolean, what: string): void => {
    if (ok === negate)
      throw new Error(
        (message ? message + ': ' : '') +
          'expected ' +
          JSON.stringify(actual)?.slice(0, 300) +
          (negate ? ' not ' : ' ') +
          what,
      );
  };
  return {
    toBe: (value: unknown) => check(Object.is(actual, value), 'to be ' + String(value)),
    toEqual: (value: unknown) =>
      check(same(actual, value), 'to equal ' + JSON.stringify(value)?.slice(0, 300)),
    toMatch: (pattern: RegExp | string) =>
      check(
        typeof actual === 'string' &&
          (typeof pattern === 'string' ? actual.includes(pattern) : pattern.test(actual)),
        'to match ' + String(pattern),
      ),
    toContain: (value: unknown) =>
      check(
        (actual as { includes(v: unknown): boolean }).includes(value),
        'to contain ' + String(value),
      ),
    toBeGreaterThan: (value: number) => check((actual as number) > value, '> ' + value),
    toBeGreaterThanOrEqual: (value: number) => check((actual as number) >= value, '>= ' + value),
    toBeLessThan: (value: number) => check((actual as number) < value, '< ' + value),
    toBeLessThanOrEqual: (value: number) => check((actual as number) <= value, '<= ' + value),
    toBeNull: () => check(actual === null, 'to be null'),
    toHaveLength: (length: number) =>
      check((actual as { length: number }).length === length, 'to have length ' + length),
    toMatchObject: (value: unknown) =>
      check(contains(actual, value), 'to match ' + JSON.stringify(value)),
  };
}

export const expect = Object.assign(
  (actual: unknown, message = '') => ({
    ...matchers(actual, false, message),
    not: matchers(actual, true, message),
  }),
  {
    arrayContaining: (items: unknown[]) => ({
      asymmetric: (value: unknown) =>
        Array.isArray(value) && items.every((item) => value.some((entry) => same(entry, item))),
    }),
  },
);

/**
 * The long randomized runs (100,000 and more generated inputs, a simulated day): under qemu they
 * are nine tenths of the time. With LIFELINE_SKIP_LONG=1 (the second emulated architecture,
 * scripts/node18-check.sh) they are skipped and counted; the other checks run them all.
 */
const LONG = /survives \d|over a simulated day/;

/** Runs every registered test in order; prints one line per failure and the closing count. */
export async function runAll(): Promise<number> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const skipLong = process.env['LIFELINE_SKIP_LONG'] === '1';
  for (const test of tests) {
    if (skipLong && LONG.test(test.name)) {
      skipped++;
      continue;
    }
    try {
      await test.body();
      passed++;
    } catch (error) {
      failed++;
      process.stdout.write('FAIL ' + test.name + ': ' + (error as Error).message + '\n');
    }
  }
  process.stdout.write(
    passed +
      ' passed, ' +
      failed +
      ' failed' +
      (skipped > 0 ? ', ' + skipped + ' skipped' : '') +
      '\n',
  );
  return failed;
}
