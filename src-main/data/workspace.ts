import { mkdirSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { join } from 'node:path';

/** The OS user-data folder, as Electron's app.getPath('userData') would give for "Plumage". */
export function defaultHome(): string {
  const h = homedir();
  switch (platform()) {
    case 'win32':
      return join(process.env.APPDATA || join(h, 'AppData', 'Roaming'), 'Plumage');
    case 'darwin':
      return join(h, 'Library', 'Application Support', 'Plumage');
    default:
      return join(process.env.XDG_CONFIG_HOME || join(h, '.config'), 'Plumage');
  }
}

/** Layout of a workspace folder: one database plus caches that can always be rebuilt. */
export interface Workspace {
  home: string;
  dbPath: string;
  thumbnails: string;
  features: string;
  checkpoints: string;
  encoders: string;
  reports: string;
}

export function workspace(home: string): Workspace {
  const ws: Workspace = {
    home,
    dbPath: join(home, 'plumage.db'),
    thumbnails: join(home, 'thumbnails'),
    features: join(home, 'features'),
    checkpoints: join(home, 'checkpoints'),
    encoders: join(home, 'encoders'),
    reports: join(home, 'reports'),
  };
  for (const dir of [home, ws.thumbnails, ws.features, ws.checkpoints, ws.encoders, ws.reports]) {
    mkdirSync(dir, { recursive: true });
  }
  return ws;
}
