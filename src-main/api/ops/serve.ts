import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { systemFolderProblem } from '../read-policy.ts';
import { path } from './schemas.ts';

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A folder the page may import or caption from: one that exists and is not a system folder. */
const readableDir = path.superRefine((p, ctx) => {
  if (!isDirectory(p)) return void ctx.addIssue({ code: 'custom', message: `--allow: not a folder: ${p}` });
  const problem = systemFolderProblem(realpathSync(p));
  if (problem) ctx.addIssue({ code: 'custom', message: `--allow: '${p}' ${problem}` });
});

/** Browser mode's options: the port (0: any free one) and the folders the page may read from and export into. */
export const serveRequest = z.strictObject({
  port: z
    .number()
    .refine((n) => Number.isInteger(n) && n >= 0 && n <= 65535, { error: (iss) => `--port must be 0..65535, got '${String(iss.input)}'` })
    .default(0),
  /** Folders besides the workspace the page may import or caption from (confirmed by whoever started the server). */
  allow: z.array(readableDir).default([]),
  /** Folders besides <home>/exports/ the page may write exports into (confirmed by whoever started the server). */
  allowExportDir: z.array(path.refine(isDirectory, { error: (iss) => `--allow-export-dir: not a folder: ${String(iss.input)}` })).default([]),
});
export type ServeRequest = z.infer<typeof serveRequest>;

/** The api's path policy for browser mode: reads inside the workspace and --allow folders, exports also into the allowed folders. */
export function servePaths(req: ServeRequest) {
  return { mode: 'local' as const, readDirs: req.allow.map((d) => resolve(d)), exportDirs: req.allowExportDir.map((d) => resolve(d)) };
}
