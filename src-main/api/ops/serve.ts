import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { path } from './schemas.ts';

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Browser mode's options: the port (0: any free one) and the folders the page may export into. */
export const serveRequest = z.strictObject({
  port: z
    .number()
    .refine((n) => Number.isInteger(n) && n >= 0 && n <= 65535, { error: (iss) => `--port must be 0..65535, got '${String(iss.input)}'` })
    .default(0),
  /** Folders besides <home>/exports/ the page may write exports into (confirmed by whoever started the server). */
  allowExportDir: z.array(path.refine(isDirectory, { error: (iss) => `--allow-export-dir: not a folder: ${String(iss.input)}` })).default([]),
});
export type ServeRequest = z.infer<typeof serveRequest>;

/** The api's path policy for browser mode: local paths, exports also into the allowed folders. */
export function servePaths(req: ServeRequest) {
  return { mode: 'local' as const, exportDirs: req.allowExportDir.map((d) => resolve(d)) };
}
