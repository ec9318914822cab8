/**
 * Runs a command's operation with Ctrl-C as its cancellation: the first SIGINT aborts the signal
 * (the operation stops cleanly and says so), the handler is removed when the operation ends.
 */
export async function cancelOnSigint<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
