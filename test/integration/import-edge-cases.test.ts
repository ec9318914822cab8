import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDataset, type ImportResult } from '../../src-main/data/importers/index.ts';
import { openDb, type Db } from '../../src-main/data/store.ts';
import { workspace } from '../../src-main/data/workspace.ts';
import { downloadEncoder } from '../../src-main/ml/encoders/load.ts';
import { decodeRgb } from '../../src-main/ml/encoders/preprocess.ts';
import { encoderEntry } from '../../src-main/ml/encoders/registry.ts';
import { headerOnlyPng } from '../fault/images.ts';
import { cleanTemps, jpeg, makeCub, tempDir, write } from './import-fixtures.ts';

/** Import and caption edge cases: unservable names, symlink escapes, UTF-16 metadata, one pixel limit, --home. */

const repo = resolve(import.meta.dirname, '../..');
let db: Db;
let folder: ImportResult;
let root: string;
const reason = (r: ImportResult, name: string) => r.errors.find((e) => e.path.endsWith(name))?.reason;

beforeAll(async () => {
  const dir = tempDir('edge');
  root = join(dir, 'photos');
  write(join(root, 'wren', 'good.jpg'), await jpeg(1));
  write(join(root, 'wren', 'line\nbreak.jpg'), await jpeg(2));
  write(join(root, 'wren', 'carriage\rreturn.jpg'), await jpeg(3));
  write(join(root, 'wren', 'back\\slash.jpg'), await jpeg(4));
  write(join(dir, 'outside.jpg'), await jpeg(5));
  symlinkSync(join(dir, 'outside.jpg'), join(root, 'wren', 'escape.jpg'));
  symlinkSync(join(root, 'wren', 'good.jpg'), join(root, 'wren', 'inside-link.jpg'));
  const ws = workspace(join(dir, 'home'));
  db = openDb(ws.dbPath);
  folder = await importDataset(db, ws, 'folder', root);
});
afterAll(() => {
  db?.close();
  cleanTemps();
});

describe('import refuses photos it could never serve', () => {
  it('names with a newline, carriage return or backslash', () => {
    for (const n of ['line\nbreak.jpg', 'carriage\rreturn.jpg', 'back\\slash.jpg'])
      expect(reason(folder, n), JSON.stringify(n)).toMatch(/line break, control character or backslash/);
  });

  it('a symbolic link to a photo outside the folder; a link inside it is fine', () => {
    expect(reason(folder, 'escape.jpg')).toBe('symbolic link to a file outside the imported folder: refused');
    const rels = (db.prepare('SELECT rel_path FROM images ORDER BY rel_path').all() as { rel_path: string }[]).map((r) => r.rel_path);
    expect(rels).toEqual(['wren/good.jpg', 'wren/inside-link.jpg']);
  });
});

describe('UTF-16 metadata', () => {
  it('images.txt saved as UTF-16 is detected, read correctly and reported', async () => {
    const cub = await makeCub(2, 2);
    const file = join(cub.root, 'images.txt');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    const d = tempDir('utf16');
    const ws = workspace(d);
    const cdb = openDb(ws.dbPath);
    const r = await importDataset(cdb, ws, 'cub', cub.root);
    cdb.close();
    expect(r.added).toBe(4);
    expect(r.errors.map((e) => e.reason)).toEqual([expect.stringMatching(/^file is UTF-16LE text, not UTF-8/)]);
  });
});

describe('captioning decodes what import accepts, no more', () => {
  it('refuses an SVG named .jpg', async () => {
    const f = join(root, 'drawing.jpg');
    writeFileSync(f, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expect(decodeRgb(f, 32)).rejects.toThrow(/not a photo/);
  });

  it('refuses an image over the 200 MP import limit', async () => {
    await expect(decodeRgb(headerOnlyPng(15_000, 15_000), 32)).rejects.toThrow(/pixel limit/);
  });
});

describe('the command line', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/plumage.js', ...args], { cwd: repo, encoding: 'utf8' });
  it('refuses --home "" and --home followed by a flag', () => {
    const empty = cli('--home', '', 'stats');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/--home needs a folder \(it was given an empty value\)/);
    const flag = cli('--home', '--json', 'stats');
    expect(flag.status).toBe(2);
    expect(flag.stdout).toMatch(/not the option '--json'/);
  });
});

describe('encoder download without network', () => {
  it('names the encoder and the two ways to get it', async () => {
    const entry = encoderEntry('tfhub_mobilenet_v2_140')!;
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => done(p)); // a port nothing listens on: the download is refused, as offline
      });
    });
    await expect(downloadEncoder(tempDir('enc'), entry, { mirror: `http://127.0.0.1:${port}` })).rejects.toThrow(
      /^cannot download the encoder 'tfhub_mobilenet_v2_140' from http:\/\/127\.0\.0\.1:\d+\/\S+ \(ECONNREFUSED\): connect to the internet once .* --encoder-path DIR/,
    );
  });
});
