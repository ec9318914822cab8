import { PlumageError } from '../util/errors.ts';

/**
 * The one length limit for caption text, whatever the way in: dataset imports (CUB / Oxford-102
 * caption files, folder sidecars, COCO annotations), api saves, batch-caption review and import.
 * Longer text is refused per caption with a reason, never cut: a silently truncated description
 * would read as a complete one.
 */

export const MAX_CAPTION_CHARS = 10_000;

/** Thrown by the store when a caption over the limit reaches it by a path that skipped the checks. */
export class TextTooLongError extends PlumageError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

/** The one-line reason a caption is refused, or null when it fits. Counts UTF-16 units, as the schemas do. */
export function captionLengthProblem(text: string): string | null {
  if (text.length <= MAX_CAPTION_CHARS) return null;
  return `caption of ${text.length.toLocaleString('en-US')} characters is over the ${MAX_CAPTION_CHARS.toLocaleString('en-US')}-character limit; skipped`;
}

export function assertCaptionLength(text: string): void {
  const problem = captionLengthProblem(text);
  if (problem) throw new TextTooLongError(problem.replace(/; skipped$/, ''));
}
