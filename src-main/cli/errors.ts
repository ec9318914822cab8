/** An error whose message is meant for the user as-is (one line, no stack trace). */
export class UserError extends Error {
  constructor(
    message: string,
    /** Process exit code: 2 for bad usage, 1 for everything else. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
