/**
 * Structured api errors. Only `message` and `code` ever cross to the renderer: never a stack
 * trace, never an internal exception's text for unexpected failures.
 */
export type ApiErrorCode = 'invalid_request' | 'not_found' | 'unavailable' | 'internal';

export class ApiFailure extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

/** What goes on the wire for a failure. Unexpected errors are reported as 'internal' with a generic text. */
export function toWireError(e: unknown): { message: string; code: string } {
  if (e instanceof ApiFailure) return { message: e.message.split('\n')[0].slice(0, 500), code: e.code };
  return { message: 'internal error (see the Plumage log)', code: 'internal' };
}
