/**
 * Waits until `ready()` is true, checking every `everyMs`; fails with `what` after `timeoutMs`.
 * Tests wait for pushes and jobs this way instead of sleeping a fixed time, which a busy CI
 * machine (tests in parallel on two cores) can outlast.
 */
export async function waitUntil(ready: () => boolean, what: string, timeoutMs = 20_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
