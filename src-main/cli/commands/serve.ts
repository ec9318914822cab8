import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApi } from '../../api/service.ts';
import { startServer } from '../../serve/server.ts';
import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { conflict, unavailable } from '../../util/errors.ts';

/**
 * `plumage serve --home H [--port N] [--allow-export-dir DIR]… [--json]`: browser mode. Prints the
 * URL with the session token once listening (`{"url": …}` with --json, one line) and runs until
 * SIGINT/SIGTERM. The page may write exports only into <home>/exports/ and the folders named with
 * --allow-export-dir (confirmed here, by the user who started the server).
 */
export const run: Command = async (ctx) => {
  const { values } = parseCommandArgs(
    ctx.argv,
    { port: { type: 'string', default: '0' }, 'allow-export-dir': { type: 'string', multiple: true } },
    false,
  );
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be 0..65535, got '${values.port}'`);
  const staticDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src-renderer/dist');
  if (!existsSync(resolve(staticDir, 'index.html'))) {
    ctx.err('plumage serve: the renderer is not built (npm run build:renderer); serving a notice page');
  }
  const exportDirs = (values['allow-export-dir'] ?? []).map((d) => {
    if (!isDirectory(d)) throw usageError(`--allow-export-dir: not a folder: ${d}`);
    return resolve(d);
  });
  const api = createApi({ home: ctx.home, log: ctx.err, paths: { mode: 'local', exportDirs } });
  let server;
  try {
    server = await startServer({ api, staticDir, port, log: ctx.err });
  } catch (e) {
    api.close();
    const code = (e as { code?: string }).code;
    throw code === 'EADDRINUSE' ? conflict(`port ${port} is already in use`) : unavailable(`cannot listen: ${(e as Error).message}`);
  }
  if (ctx.json) process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
  else process.stdout.write(`Plumage is listening at ${server.url}\n`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  api.close();
  // Exit here: the single JSON line has been printed already, so the dispatcher must not print another.
  process.exit(0);
};

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
