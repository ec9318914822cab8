import { isErrorCode, type ErrorCode } from '../../shared/errors.ts';

export type { ErrorCode } from '../../shared/errors.ts';

/**
 * The one error family of Plumage. The core throws a PlumageError with a code for every failure a
 * user can cause or fix (a missing run, a bad file, an unknown option); anything else that escapes
 * is a bug and is reported as `internal`. Shells map the code, never the message text: the CLI to
 * an exit code, the api to a wire error, the renderer to a sentence (shared/errors.ts).
 */
export class PlumageError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PlumageError';
  }
}

export const invalidRequest = (message: string, options?: ErrorOptions) => new PlumageError('invalid_request', message, options);
export const notFound = (message: string, options?: ErrorOptions) => new PlumageError('not_found', message, options);
export const conflict = (message: string, options?: ErrorOptions) => new PlumageError('conflict', message, options);
export const unavailable = (message: string, options?: ErrorOptions) => new PlumageError('unavailable', message, options);
export const ioError = (message: string, options?: ErrorOptions) => new PlumageError('io', message, options);
export const cancelled = (message = 'cancelled') => new PlumageError('cancelled', message);

/** Node's errno codes that mean "the file system said no" rather than "Plumage has a bug". */
const IO_ERRNO = new Set(['ENOENT', 'EACCES', 'EPERM', 'EEXIST', 'ENOTDIR', 'EISDIR', 'EROFS', 'ENOSPC', 'EMFILE', 'EBUSY']);

/** The code of any thrown value: a PlumageError's own, `io` for file-system errno errors, else `internal`. */
export function errorCode(e: unknown): ErrorCode {
  if (e instanceof PlumageError) return e.code;
  const errno = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof errno === 'string' && IO_ERRNO.has(errno)) return 'io';
  if ((e as Error | null)?.name === 'AbortError') return 'cancelled';
  return 'internal';
}

/** The first line of an error's message (what a one-line report shows). */
export function firstLine(e: unknown): string {
  return String((e as Error | null)?.message ?? e).split('\n')[0];
}

/** Rebuilds an error that crossed a worker boundary as `{ code, message }`. */
export function fromWire(err: { code?: unknown; message?: unknown }): Error {
  const message = typeof err.message === 'string' ? err.message : 'unknown error';
  return isErrorCode(err.code) && err.code !== 'internal' ? new PlumageError(err.code, message) : new Error(message);
}

/** What a worker posts for a failure: the code survives the thread boundary. */
export function toWorkerError(e: unknown): { type: 'error'; message: string; code: ErrorCode } {
  return { type: 'error', message: firstLine(e), code: errorCode(e) };
}
