import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApi } from '../../api/service.ts';
import { startServer } from '../../serve/server.ts';
import type { Command } from '../context.ts';
import { serveRequest, servePaths } from '../../api/ops/serve.ts';
import { conflict, unavailable } from '../../util/errors.ts';
import { parseRequest } from '../request.ts';

/**
 * `plumage serve --home H [--port N] [--allow DIR]… [--allow-export-dir DIR]… [--json]`: browser
 * mode. Prints the URL with the session token once listening (`{"url": …}` with --json, one line)
 * and runs until SIGINT/SIGTERM. The page may import or caption folders only inside the workspace
 * and the folders named with --allow, and write exports only into <home>/exports/ and the folders
 * named with --allow-export-dir (both confirmed here, by the user who started the server).
 */
export const run: Command = async (ctx) => {
  const { request } = parseRequest(ctx.argv, {
    schema: serveRequest,
    usage: 'usage: plumage serve [--port N] [--allow DIR]… [--allow-export-dir DIR]…',
  });
  const port = request.port;
  const staticDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src-renderer/dist');
  if (!existsSync(resolve(staticDir, 'index.html'))) {
    ctx.err('plumage serve: the renderer is not built (npm run build:renderer); serving a notice page');
  }
  const api = createApi({ home: ctx.home, log: ctx.err, paths: servePaths(request) });
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

