import { encoderRegistry, encodersRequest } from '../../api/ops/encoders.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/** `plumage encoders [--json]`: the registry with availability, provenance and size. */
export const run: Command = async (ctx) => {
  parseRequest(ctx.argv, { schema: encodersRequest, usage: 'usage: plumage encoders' });
  const r = encoderRegistry(ctx.home);
  ctx.log(`default: ${r.defaultDescription}`);
  for (const e of r.encoders) {
    const mb = (e.bytes / 1e6).toFixed(1);
    ctx.log(
      `${e.id.padEnd(26)}${e.availability.padEnd(14)}${e.shape.join('x').padEnd(12)}${(mb + ' MB').padEnd(10)}${e.pinned ? 'pinned ' : 'TOFU   '}${e.untested ? 'untested ' : ''}${e.title}`,
    );
    if (e.warning) ctx.log(`    warning: ${e.warning}`);
  }
  ctx.log('  --encoder-path DIR: any local TF.js layers/graph model folder (bare base or Teachable Machine export)');
  return { default: r.default, encoders: r.encoders };
};
