import { statsRequest, workspaceSummary } from '../../api/ops/collections.ts';
import { withOpContext } from '../../api/ops/context.ts';
import type { Command } from '../context.ts';
import { parseRequest } from '../request.ts';

/** plumage stats: collections, images, classes, captions by provenance, labels, splits, runs. */
export const run: Command = async (ctx) => {
  parseRequest(ctx.argv, { schema: statsRequest, usage: 'usage: plumage stats' });
  return withOpContext(ctx.home, (op) => {
    const s = workspaceSummary(op);
    ctx.log(`workspace ${op.ws.home}`);
    for (const c of s.collections as {
      id: number;
      name: string;
      kind: string;
      images: number;
      classes: number;
      captions: number;
    }[]) {
      ctx.log(
        `  [${c.id}] ${c.name} (${c.kind}): ${c.images} images, ${c.classes} classes, ${c.captions} captions`,
      );
    }
    ctx.log(
      `images ${s.images}, classes ${s.classes}, labels ${s.labels.total} (${fmt(s.labels.by_provenance)})`,
    );
    ctx.log(
      `captions ${s.captions.total} (${fmt(s.captions.by_provenance)}), revisions ${s.captions.revisions}`,
    );
    for (const [scheme, parts] of Object.entries(s.splits)) ctx.log(`split ${scheme}: ${fmt(parts)}`);
    ctx.log(`runs ${s.runs.total}${s.runs.total ? ` (${fmt(s.runs.by_status)})` : ''}`);
    return s;
  });
};

function fmt(o: Record<string, number>): string {
  return (
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  );
}
