import { openDb } from '../../data/store.ts';
import { workspaceStats } from '../../data/stats.ts';
import { workspace } from '../../data/workspace.ts';
import { parseCommandArgs, type Command } from '../context.ts';

/** plumage stats: collections, images, classes, captions by provenance, labels, splits, runs. */
export const run: Command = async (ctx) => {
  parseCommandArgs(ctx.argv, {}, false);
  const ws = workspace(ctx.home);
  const db = openDb(ws.dbPath);
  try {
    const s = workspaceStats(db);
    ctx.log(`workspace ${ws.home}`);
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
  } finally {
    db.close();
  }
};

function fmt(o: Record<string, number>): string {
  return (
    Object.entries(o)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none'
  );
}
