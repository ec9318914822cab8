import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { emptyPlan, isDir, isFile, relPosix } from './common.ts';
import { captionLengthProblem } from '../text-limits.ts';
import { cleanCaption, excerpt } from './text.ts';
import type { ImportOptions, ImportPlan } from './types.ts';
import { invalidRequest, notFound } from '../../util/errors.ts';

interface CocoImage {
  id?: unknown;
  file_name?: unknown;
  category_id?: unknown;
  category?: unknown;
  split?: unknown;
}

/**
 * COCO-captions JSON: {images:[{id, file_name}], annotations:[{image_id, caption}], categories?}.
 * Photos resolve against --images DIR, else the JSON's folder, else `plumage.images_root` that our
 * own export writes. The class of an image comes from an extra `category_id` (with `categories`)
 * or `category` (a name) on the image — what `plumage export coco` writes — so export → import
 * round-trips labels and captions.
 */
export function planCoco(path: string, opts: ImportOptions): ImportPlan {
  const file = resolve(path);
  if (!isFile(file)) throw notFound(`not a file: ${path}`);
  let doc: {
    images?: unknown;
    annotations?: unknown;
    categories?: unknown;
    plumage?: { images_root?: unknown };
  };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw invalidRequest(`${path} is not valid JSON (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.images)) {
    throw invalidRequest(`${path} is not COCO-captions JSON (no "images" list)`);
  }
  const exported = typeof doc.plumage?.images_root === 'string' ? doc.plumage.images_root : undefined;
  const images = doc.images as CocoImage[];
  const firstName = images.find((i) => typeof i?.file_name === 'string')?.file_name as string | undefined;
  let root: string;
  if (opts.images) root = resolve(opts.images);
  else if (exported && firstName && !isFile(join(dirname(file), firstName)) && isDir(exported))
    root = resolve(exported);
  else root = dirname(file);
  if (!isDir(root)) throw notFound(`images folder not found: ${root}`);

  const plan = emptyPlan('coco', root, opts);
  const catName = new Map<string, string>();
  if (Array.isArray(doc.categories)) {
    for (const c of doc.categories as { id?: unknown; name?: unknown }[]) {
      if (c && (typeof c.id === 'number' || typeof c.id === 'string') && typeof c.name === 'string')
        catName.set(String(c.id), c.name);
    }
  }
  const captionsOf = new Map<string, string[]>();
  if (Array.isArray(doc.annotations)) {
    (doc.annotations as { image_id?: unknown; caption?: unknown }[]).forEach((a, i) => {
      if (
        !a ||
        (typeof a.image_id !== 'number' && typeof a.image_id !== 'string') ||
        typeof a.caption !== 'string'
      ) {
        plan.errors.push({
          path: `${file}#annotations[${i}]`,
          reason: 'annotation without image_id or caption; skipped',
        });
        return;
      }
      const text = cleanCaption(a.caption);
      if (!text) return;
      const tooLong = captionLengthProblem(text);
      if (tooLong) return void plan.errors.push({ path: `${file}#annotations[${i}]`, reason: tooLong });
      const key = String(a.image_id);
      let list = captionsOf.get(key);
      if (!list) captionsOf.set(key, (list = []));
      list.push(text);
    });
  }
  const seen = new Set<string>();
  const seenPaths = new Set<string>();
  images.forEach((img, i) => {
    const where = `${file}#images[${i}]`;
    if (
      !img ||
      typeof img.file_name !== 'string' ||
      (typeof img.id !== 'number' && typeof img.id !== 'string')
    ) {
      plan.errors.push({ path: where, reason: 'image entry without id or file_name; skipped' });
      return;
    }
    const id = String(img.id);
    const abs = resolve(root, img.file_name);
    const rel = relPosix(root, abs);
    if (rel.startsWith('..')) {
      plan.errors.push({
        path: where,
        reason: `file_name '${excerpt(img.file_name)}' is outside the images folder`,
      });
      return;
    }
    if (seen.has(id) || seenPaths.has(rel)) {
      plan.errors.push({ path: where, reason: `duplicate image id ${id} or file_name; skipped` });
      return;
    }
    seen.add(id);
    seenPaths.add(rel);
    let className: string | undefined;
    if (img.category_id !== undefined && img.category_id !== null) {
      className = catName.get(String(img.category_id));
      if (className === undefined)
        plan.errors.push({
          path: where,
          reason: `unknown category_id ${String(img.category_id)}; imported without a label`,
        });
    } else if (typeof img.category === 'string' && img.category.trim()) className = img.category.trim();
    if (className !== undefined && !plan.classes.has(className))
      plan.classes.set(className, { name: className, sourceId: null });
    const part = img.split === 'train' || img.split === 'val' || img.split === 'test' ? img.split : undefined;
    plan.items.push({
      absPath: abs,
      relPath: rel,
      sourceId: id,
      classKey: className,
      captions: captionsOf.get(id) ?? [],
      officialPart: part,
    });
  });
  return plan;
}
