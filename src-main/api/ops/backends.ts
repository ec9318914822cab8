import { z } from 'zod';
import { diagnoseBackends, initBackend } from '../../ml/backend.ts';

export const doctorRequest = z.strictObject({});

/** Each compute backend in preference order: the one in use, and why not the others. */
export async function diagnose() {
  const report = await diagnoseBackends();
  return { chosen: report.chosen, backends: report.backends };
}

/**
 * Picks this process's compute backend now (once): a shell whose jobs run in worker threads calls
 * it to say up front which backend they will find (the workers resolve the same one).
 */
export async function resolveBackend(): Promise<void> {
  await initBackend();
}
