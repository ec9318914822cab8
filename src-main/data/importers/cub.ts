import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LineErrors, emptyPlan, firstDir, readLines, requireFolder } from './common.ts';
import { excerpt } from './text.ts';
import type { ImportItem, ImportOptions, ImportPlan } from './types.ts';
import { invalidRequest } from '../../util/errors.ts';

/**
 * CUB-200-2011 layout (also what `plumage synth` writes):
 *   images.txt (id path), classes.txt (id name), image_class_labels.txt (image class),
 *   train_test_split.txt (image 1=train/0=test), bounding_boxes.txt (image x y w h),
 *   parts/parts.txt (id name), parts/part_locs.txt (image part x y visible), images/<class>/<file>.
 * Captions: Reed text_c10/<class dir>/<image name>.txt, looked for with --captions, next to the
 * dataset folder (PATH/../text_c10) or inside it (PATH/text_c10).
 */
export function planCub(path: string, opts: ImportOptions): ImportPlan {
  let root = requireFolder(path);
  // Accept the folder that holds CUB_200_2011/ (the tarball's top level, and what `plumage synth` writes).
  if (!existsSync(join(root, 'images.txt')) && existsSync(join(root, 'CUB_200_2011', 'images.txt'))) {
    root = join(root, 'CUB_200_2011');
  }
  if (!existsSync(join(root, 'images.txt'))) {
    throw invalidRequest(`${path} does not look like CUB-200-2011 (no images.txt)`);
  }
  // Name after the folder the user pointed at (the synth output folder rather than 'CUB_200_2011').
  const plan = emptyPlan('cub', root, opts, { nameFrom: path, missingInErrors: true });
  const bad = new LineErrors(plan.errors);
  const num = (s: string | undefined) =>
    s !== undefined && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(s) ? Number(s) : NaN;

  // classes.txt
  const classNames = new Map<string, string>();
  for (const l of readLines(join(root, 'classes.txt'), plan.errors, true) ?? []) {
    if (l.fields.length < 2 || !/^\d+$/.test(l.fields[0])) {
      bad.add('classes.txt', l.line, `malformed line '${excerpt(l.raw)}' (expected: <class id> <name>)`);
      continue;
    }
    if (classNames.has(l.fields[0])) {
      bad.add('classes.txt', l.line, `duplicate class id ${l.fields[0]}`);
      continue;
    }
    const name = l.raw.replace(/^\S+\s+/, '').trim();
    classNames.set(l.fields[0], name);
  }

  // image_class_labels.txt
  const labelOf = new Map<string, string>();
  for (const l of readLines(join(root, 'image_class_labels.txt'), plan.errors, false) ?? []) {
    if (l.fields.length !== 2 || !/^\d+$/.test(l.fields[0]) || !/^\d+$/.test(l.fields[1])) {
      bad.add(
        'image_class_labels.txt',
        l.line,
        `malformed line '${excerpt(l.raw)}' (expected: <image id> <class id>)`,
      );
      continue;
    }
    if (!classNames.has(l.fields[1])) {
      bad.add(
        'image_class_labels.txt',
        l.line,
        `unknown class id ${l.fields[1]} for image ${l.fields[0]}; imported without a label`,
      );
      continue;
    }
    labelOf.set(l.fields[0], l.fields[1]);
  }

  // train_test_split.txt
  const splitOf = new Map<string, 'train' | 'test'>();
  for (const l of readLines(join(root, 'train_test_split.txt'), plan.errors, false) ?? []) {
    if (l.fields.length !== 2 || !/^\d+$/.test(l.fields[0]) || !/^[01]$/.test(l.fields[1])) {
      bad.add(
        'train_test_split.txt',
        l.line,
        `malformed line '${excerpt(l.raw)}' (expected: <image id> 1|0)`,
      );
      continue;
    }
    splitOf.set(l.fields[0], l.fields[1] === '1' ? 'train' : 'test');
  }

  // bounding_boxes.txt
  const boxOf = new Map<string, [number, number, number, number]>();
  for (const l of readLines(join(root, 'bounding_boxes.txt'), plan.errors, false) ?? []) {
    const v = l.fields.slice(1).map(num);
    if (l.fields.length !== 5 || v.some((x) => !Number.isFinite(x))) {
      bad.add(
        'bounding_boxes.txt',
        l.line,
        `malformed line '${excerpt(l.raw)}' (expected: <image id> x y w h)`,
      );
      continue;
    }
    boxOf.set(l.fields[0], [v[0], v[1], v[2], v[3]]);
  }

  // parts/parts.txt + parts/part_locs.txt
  const partsFile = join(root, 'parts', 'parts.txt');
  if (existsSync(partsFile)) {
    plan.parts = [];
    for (const l of readLines(partsFile, plan.errors, false) ?? []) {
      if (l.fields.length < 2 || !/^\d+$/.test(l.fields[0])) {
        bad.add('parts/parts.txt', l.line, `malformed line '${excerpt(l.raw)}' (expected: <part id> <name>)`);
        continue;
      }
      plan.parts.push({ sourceId: Number(l.fields[0]), name: l.raw.replace(/^\S+\s+/, '').trim() });
    }
  }
  const partIds = new Set(plan.parts?.map((p) => p.sourceId));
  const partsOf = new Map<string, NonNullable<ImportItem['parts']>>();
  for (const l of readLines(join(root, 'parts', 'part_locs.txt'), plan.errors, false) ?? []) {
    const v = l.fields.map(num);
    if (l.fields.length !== 5 || v.some((x) => !Number.isFinite(x)) || !partIds.has(v[1])) {
      bad.add(
        'parts/part_locs.txt',
        l.line,
        `malformed line '${excerpt(l.raw)}' (expected: <image id> <part id> x y visible)`,
      );
      continue;
    }
    let list = partsOf.get(l.fields[0]);
    if (!list) partsOf.set(l.fields[0], (list = []));
    list.push({ part: v[1], x: v[2], y: v[3], visible: v[4] !== 0 });
  }

  // Captions folder.
  const captionsDir = firstDir(
    opts.captions ? [opts.captions] : [join(root, '..', 'text_c10'), join(root, 'text_c10')],
  );
  if (opts.captions && !captionsDir)
    plan.errors.push({ path: opts.captions, reason: 'captions folder not found; imported without captions' });
  plan.captionsDir = captionsDir;

  // images.txt drives the import.
  const seenIds = new Map<string, number>();
  const seenPaths = new Map<string, number>();
  for (const l of readLines(join(root, 'images.txt'), plan.errors, true) ?? []) {
    if (l.fields.length < 2 || !/^\d+$/.test(l.fields[0])) {
      bad.add('images.txt', l.line, `malformed line '${excerpt(l.raw)}' (expected: <image id> <path>)`);
      continue;
    }
    const id = l.fields[0];
    // File names may contain spaces: the path is the rest of the line.
    const rel = l.raw
      .replace(/^\S+\s+/, '')
      .trim()
      .replace(/\\/g, '/');
    if (rel.split('/').includes('..') || rel.startsWith('/')) {
      bad.add('images.txt', l.line, `path '${excerpt(rel)}' leaves the images folder`);
      continue;
    }
    if (seenIds.has(id)) {
      bad.add(
        'images.txt',
        l.line,
        `duplicate image id ${id} (first on line ${seenIds.get(id)}); line ignored`,
      );
      continue;
    }
    if (seenPaths.has(rel)) {
      bad.add(
        'images.txt',
        l.line,
        `duplicate image path '${excerpt(rel)}' (first on line ${seenPaths.get(rel)}); line ignored`,
      );
      continue;
    }
    seenIds.set(id, l.line);
    seenPaths.set(rel, l.line);
    const cls = labelOf.get(id);
    if (cls !== undefined && !plan.classes.has(cls))
      plan.classes.set(cls, { name: classNames.get(cls)!, sourceId: cls });
    plan.items.push({
      absPath: join(root, 'images', ...rel.split('/')),
      relPath: `images/${rel}`,
      sourceId: id,
      classKey: cls,
      captionFile: captionsDir
        ? join(captionsDir, ...rel.replace(/\.[^./]+$/, '.txt').split('/'))
        : undefined,
      bbox: boxOf.get(id),
      parts: partsOf.get(id),
      officialPart: splitOf.get(id),
      listed: true,
    });
  }
  bad.finish();
  return plan;
}
