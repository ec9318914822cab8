/** One line, short, no stack frame: what a person can read and act on. */
export function isClearReason(msg: unknown): boolean {
  return typeof msg === 'string' && msg.trim().length > 0 && msg.length <= 400 && !msg.includes('\n') && !/\bat .+:\d+:\d+/.test(msg);
}
