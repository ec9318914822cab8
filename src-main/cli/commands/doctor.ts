import { diagnoseBackends } from '../../ml/backend.ts';
import { parseCommandArgs, type Command } from '../context.ts';

/** `plumage doctor`: each compute backend in preference order, the one in use, why not the others. */
export const run: Command = async (ctx) => {
  parseCommandArgs(ctx.argv, {}, false);
  const report = await diagnoseBackends();
  for (const b of report.backends) ctx.log(`${b.name.padEnd(5)} ${b.status.padEnd(12)} ${b.why}`);
  if (!report.chosen) ctx.log('no backend could start: Plumage cannot train or caption here');
  return { chosen: report.chosen, backends: report.backends };
};
