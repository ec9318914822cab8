import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMat, type MatVariable } from '../matfile.ts';
import { LineErrors, emptyPlan, firstDir, isDir, readLines, requireFolder } from './common.ts';
import { excerpt } from './text.ts';
import type { ImportItem, ImportOptions, ImportPlan } from './types.ts';
import { invalidRequest } from '../../util/errors.ts';

const imageName = (n: number) => `image_${String(n).padStart(5, '0')}.jpg`;

/**
 * Oxford-102 flowers: jpg/image_XXXXX.jpg; labels from imagelabels.mat (`labels`, 1×N) or
 * imagelabels.txt (`image_XXXXX.jpg <label>`); setid.mat (trnid/valid/tstid → split 'official');
 * class names from cat_to_name.json, else "class N"; Reed captions text_c10/class_XXXXX/image_XXXXX.txt.
 * Only files that exist are imported: listed-but-absent ones are counted as missing.
 */
export function planFlowers(path: string, opts: ImportOptions): ImportPlan {
  const root = requireFolder(path);
  const jpgDir = join(root, 'jpg');
  if (!isDir(jpgDir)) throw invalidRequest(`${path} does not look like Oxford-102 (no jpg/ folder)`);
  const plan = emptyPlan('flowers', root, opts);
  const bad = new LineErrors(plan.errors);

  // Labels: image number → class label (1-based).
  const labels = new Map<number, number>();
  const matPath = join(root, 'imagelabels.mat');
  const txtPath = join(root, 'imagelabels.txt');
  let labelsRead = false;
  if (existsSync(matPath)) {
    const v = readMatVar(matPath, 'labels', plan.errors);
    if (v) {
      v.data.forEach((label, i) => labels.set(i + 1, label));
      labelsRead = true;
    }
  }
  if (!labelsRead && existsSync(txtPath)) {
    for (const l of readLines(txtPath, plan.errors, false) ?? []) {
      const m = /^image_(\d+)\.jpg$/i.exec(l.fields[0] ?? '');
      if (l.fields.length !== 2 || !m || !/^\d+$/.test(l.fields[1])) {
        bad.add(
          'imagelabels.txt',
          l.line,
          `malformed line '${excerpt(l.raw)}' (expected: image_XXXXX.jpg <label>)`,
        );
        continue;
      }
      labels.set(Number(m[1]), Number(l.fields[1]));
    }
    labelsRead = true;
  }
  if (!labelsRead)
    plan.errors.push({
      path: root,
      reason: 'no imagelabels.mat or imagelabels.txt: images imported without labels',
    });

  // Official split.
  const splitOf = new Map<number, 'train' | 'val' | 'test'>();
  const setPath = join(root, 'setid.mat');
  if (existsSync(setPath)) {
    try {
      const vars = readMat(readFileSync(setPath));
      for (const [name, part] of [
        ['trnid', 'train'],
        ['valid', 'val'],
        ['tstid', 'test'],
      ] as const) {
        for (const n of vars.get(name)?.data ?? []) splitOf.set(n, part);
      }
    } catch (e) {
      plan.errors.push({
        path: setPath,
        reason: `unreadable MAT-file (${(e as Error).message}); no official split`,
      });
    }
  }

  // Class names.
  let names: Record<string, string> = {};
  const namesPath = join(root, 'cat_to_name.json');
  if (existsSync(namesPath)) {
    try {
      const parsed = JSON.parse(readFileSync(namesPath, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) names = parsed;
      else throw new Error('not an object');
    } catch (e) {
      plan.errors.push({
        path: namesPath,
        reason: `ignored (${(e as Error).message}); classes named "class N"`,
      });
    }
  }
  const classKey = (label: number) => {
    const key = String(label);
    if (!plan.classes.has(key)) {
      const n = names[key];
      plan.classes.set(key, {
        name: typeof n === 'string' && n.trim() ? n.trim() : `class ${label}`,
        sourceId: key,
      });
    }
    return key;
  };

  const captionsDir = firstDir(
    opts.captions ? [opts.captions] : [join(root, 'text_c10'), join(root, '..', 'text_c10')],
  );
  if (opts.captions && !captionsDir)
    plan.errors.push({ path: opts.captions, reason: 'captions folder not found; imported without captions' });
  plan.captionsDir = captionsDir;

  // Listed images, then any other photos in jpg/ (imported unlabelled).
  const present = new Set(readdirSync(jpgDir));
  const make = (n: number, file: string, listed: boolean): ImportItem => {
    const label = labels.get(n);
    return {
      absPath: join(jpgDir, file),
      relPath: `jpg/${file}`,
      sourceId: n > 0 ? String(n) : undefined,
      classKey: label !== undefined ? classKey(label) : undefined,
      captionFile:
        captionsDir && label !== undefined
          ? join(captionsDir, `class_${String(label).padStart(5, '0')}`, file.replace(/\.jpg$/i, '.txt'))
          : undefined,
      officialPart: splitOf.get(n),
      listed,
    };
  };
  const listedNames = new Set<string>();
  for (const n of [...labels.keys()].sort((a, b) => a - b)) {
    const file = imageName(n);
    listedNames.add(file);
    // Absent listed files are counted by the engine as missing (never as errors).
    plan.items.push(make(n, file, true));
  }
  for (const file of [...present].sort()) {
    if (listedNames.has(file) || file.startsWith('.')) continue;
    const m = /^image_(\d+)\.jpe?g$/i.exec(file);
    plan.items.push(make(m ? Number(m[1]) : -1, file, false));
  }
  bad.finish();
  return plan;
}

function readMatVar(path: string, name: string, errors: ImportPlan['errors']): MatVariable | null {
  try {
    const v = readMat(readFileSync(path)).get(name);
    if (!v) throw invalidRequest(`no variable '${name}'`);
    return v;
  } catch (e) {
    errors.push({ path, reason: `unreadable MAT-file (${(e as Error).message})` });
    return null;
  }
}
