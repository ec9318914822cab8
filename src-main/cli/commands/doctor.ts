import { diagnose, doctorRequest } from '../../api/ops/backends.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/** `plumage doctor`: each compute backend in preference order, the one in use, why not the others. */
export const run: Command = async (ctx) => {
  parseRequest(ctx.argv, { schema: doctorRequest, usage: 'usage: plumage doctor' });
  const report = await diagnose();
  for (const b of report.backends) ctx.log(`${b.name.padEnd(5)} ${b.status.padEnd(12)} ${b.why}`);
  if (!report.chosen) ctx.log('no backend could start: Plumage cannot train or caption here');
  return report;
};
