// Types of ensure-test-deps.mjs.
/** [path, Debian package]: the Debian tools the tests need, installed by the pretest step. */
export declare const NEEDED: readonly (readonly [string, string])[];
