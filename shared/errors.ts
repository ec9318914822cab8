/**
 * The error codes every layer speaks (core, api wire errors, CLI exit codes) and the plain
 * sentences the renderer shows for them. The renderer never shows a raw code or a channel name:
 * it calls `humanError` on the `{ code, message }` an invoke failed with.
 */
export const ERROR_CODES = ['invalid_request', 'not_found', 'conflict', 'unavailable', 'io', 'cancelled', 'internal'] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && (ERROR_CODES as readonly string[]).includes(x);
}

/** One sentence per code, written for a person (not a programmer). */
const SENTENCES: Record<ErrorCode, string> = {
  invalid_request: 'That request could not be carried out as asked',
  not_found: 'Plumage could not find what was asked for',
  conflict: 'That clashes with something already in the workspace',
  unavailable: 'That is not possible right now',
  io: 'Plumage could not read or write a file',
  cancelled: 'The task was cancelled',
  internal: 'Something went wrong inside Plumage (details are in the log)',
};

/**
 * What cams:get answers when no trained model covers the photo yet: a state of the workspace, not
 * a failure, so the heat-map panel says it in its own words instead of as an error.
 */
export const NO_MODEL_FOR_PHOTO = 'no trained model covers this photo yet';

/** A leading "channel:name: " (how the api prefixes validation failures) is not for people. */
const CHANNEL_PREFIX = /^[a-z]+:[A-Za-z]+:\s*/;

/**
 * The text to show for a failed request: the code's sentence, then the detail the core gave
 * (without any channel name). Internal errors show no detail: their text is for the log.
 */
export function humanError(err: { code?: string; message?: string } | null | undefined): string {
  const code: ErrorCode = isErrorCode(err?.code) ? err.code : 'internal';
  const detail = code === 'internal' ? '' : (err?.message ?? '').split('\n')[0].replace(CHANNEL_PREFIX, '').trim();
  return detail ? `${SENTENCES[code]}: ${detail}` : `${SENTENCES[code]}.`;
}
