// Assertions for programmer errors: they crash, on purpose. Operating errors (bad input, dead
// peers) are handled and counted elsewhere and never reach here. The message is a constant string
// so that a passing assertion costs a comparison and nothing else.

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error('assertion failed: ' + message);
}
