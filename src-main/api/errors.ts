import { errorCode, firstLine, PlumageError } from '../util/errors.ts';

/**
 * Wire errors. Only `message` and `code` ever cross to the renderer: never a stack trace, never
 * an internal exception's text for unexpected failures.
 */
export function toWireError(e: unknown): { message: string; code: string } {
  const code = errorCode(e);
  if (e instanceof PlumageError || code === 'io') return { message: firstLine(e).slice(0, 500), code };
  return { message: 'internal error (see the Plumage log)', code: 'internal' };
}
