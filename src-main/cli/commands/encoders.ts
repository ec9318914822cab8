import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { workspace } from '../../data/workspace.ts';
import { listEncoders } from '../../ml/encoders/load.ts';
import { DEFAULT_PREFERENCE, FALLBACK_ID } from '../../ml/encoders/registry.ts';

/** `plumage encoders [--json]`: the registry with availability, provenance and size. */
export const run: Command = async (ctx) => {
  parseCommandArgs(ctx.argv, {}, false);
  const ws = workspace(ctx.home);
  const list = listEncoders(ws.encoders);
  const cachedDefault = DEFAULT_PREFERENCE.find(
    (id) => list.find((e) => e.id === id)?.availability === 'cached',
  );
  const defaultId =
    cachedDefault ?? `${DEFAULT_PREFERENCE[0]} (download on first use; offline: ${FALLBACK_ID})`;
  ctx.log(`default: ${defaultId}`);
  for (const e of list) {
    const mb = (e.bytes / 1e6).toFixed(1);
    ctx.log(
      `${e.id.padEnd(26)}${e.availability.padEnd(14)}${e.shape.join('x').padEnd(12)}${(mb + ' MB').padEnd(10)}${e.pinned ? 'pinned ' : 'TOFU   '}${e.untested ? 'untested ' : ''}${e.title}`,
    );
    if (e.warning) ctx.log(`    warning: ${e.warning}`);
  }
  ctx.log(
    '  --encoder-path DIR: any local TF.js layers/graph model folder (bare base or Teachable Machine export)',
  );
  return { default: cachedDefault ?? null, encoders: list };
};
