// The complete run's reporter (LIFELINE_TEST_COMPLETE=1, set by .ci/run): a run in which any test
// was skipped (by `skipping`, `.skip`, `.todo` or a `skipIf` of its own) fails, naming each, so
// that a run that checked less than the whole suite cannot pass.

import type { Reporter, TestModule } from 'vitest/node';

export default class CompleteRunReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped: string[] = [];
    for (const module of modules)
      for (const test of module.children.allTests())
        if (test.result().state === 'skipped')
          skipped.push(module.relativeModuleId + ' > ' + test.fullName);
    if (skipped.length === 0) return;
    process.stderr.write(
      'LIFELINE_TEST_COMPLETE=1: ' +
        skipped.length +
        ' skipped tests fail a complete run:\n' +
        skipped.map((name) => '  ' + name + '\n').join(''),
    );
    process.exitCode = 1;
  }
}
