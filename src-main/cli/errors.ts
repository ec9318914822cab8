import { errorCode, firstLine, invalidRequest, type ErrorCode } from '../util/errors.ts';

/**
 * Process exit status per error code: 2 for bad usage, 1 for any other problem the user can fix,
 * 130 for a cancelled task (as after Ctrl-C), 70 (EX_SOFTWARE) for a bug in Plumage.
 */
export const EXIT_CODES: Record<ErrorCode, number> = {
  invalid_request: 2,
  not_found: 1,
  conflict: 1,
  unavailable: 1,
  io: 1,
  cancelled: 130,
  internal: 70,
};

/** Bad command-line usage: exit status 2 and the usage line. */
export const usageError = (message: string) => invalidRequest(message);

/** The exit status and the one line `plumage:` prints for any thrown value. */
export function describeFailure(e: unknown): { code: ErrorCode; exitCode: number; line: string; internal: boolean } {
  const code = errorCode(e);
  const internal = code === 'internal';
  const line = internal ? `internal error: ${(e as Error)?.name ?? 'Error'}: ${firstLine(e)}` : firstLine(e);
  return { code, exitCode: EXIT_CODES[code], line, internal };
}
