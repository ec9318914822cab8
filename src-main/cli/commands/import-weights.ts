import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from '../context.ts';
import { parseCommandArgs } from '../context.ts';
import { usageError } from '../errors.ts';
import { ioError } from '../../util/errors.ts';
import { importWeights } from '../../jobs/import-weights.ts';
import { VARIANTS, type Variant } from '../../ml/model.ts';

/** A list from a JSON file (array, or {words|vocab|classes: [...]}) or a text file (one per line). */
function readList(path: string): string[] {
  if (!existsSync(path)) throw ioError(`no such file: ${path}`);
  const text = readFileSync(path, 'utf8');
  try {
    const j = JSON.parse(text) as unknown;
    if (Array.isArray(j)) return j.map(String);
    const r = j as Record<string, unknown>;
    for (const k of ['words', 'vocab', 'itos', 'classes'])
      if (Array.isArray(r[k])) return (r[k] as unknown[]).map(String);
  } catch {
    /* plain text */
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * `plumage import-weights W.safetensors [--variant cnn|lrcn|medi|cam] [--vocab F] [--classes F]
 * [--encoder ID] [--collection ID] [--max-len T] --json`: a run from PyTorch-layout weights.
 * Vocabulary and class names come from W.json beside the file (as `plumage export weights`
 * writes it) or from --vocab / --classes.
 */
export const run: Command = async (ctx) => {
  const { values, positionals } = parseCommandArgs(ctx.argv, {
    variant: { type: 'string' },
    vocab: { type: 'string' },
    classes: { type: 'string' },
    encoder: { type: 'string' },
    collection: { type: 'string' },
    'max-len': { type: 'string' },
  });
  if (positionals.length !== 1)
    throw usageError(
      'usage: plumage import-weights W.safetensors [--variant V] [--vocab F] [--classes F] [--encoder ID]',
);
  const file = resolve(positionals[0]);
  if (!existsSync(file)) throw ioError(`no such file: ${positionals[0]}`);
  if (values.variant && !VARIANTS.includes(values.variant as Variant))
    throw usageError(`--variant must be one of ${VARIANTS.join(', ')}`);
  const sidePath = file.replace(/\.safetensors$/, '.json');
  const side = existsSync(sidePath)
    ? (JSON.parse(readFileSync(sidePath, 'utf8')) as Record<string, unknown>)
    : {};
  const vocab = values.vocab
    ? readList(values.vocab)
    : Array.isArray(side.vocab)
      ? (side.vocab as string[])
      : null;
  const classes = values.classes
    ? readList(values.classes)
    : Array.isArray(side.classes)
      ? (side.classes as unknown[]).map((c) =>
          typeof c === 'string' ? c : String((c as { name: string }).name),
        )
      : null;
  const res = await importWeights({
    home: ctx.home,
    file,
    variant:
      (values.variant as Variant | undefined) ??
      (typeof side.variant === 'string' ? (side.variant as Variant) : undefined),
    vocab,
    classes,
    encoder: values.encoder ?? (typeof side.encoder === 'string' ? side.encoder : undefined),
    collectionId: values.collection ? Number(values.collection) : undefined,
    maxLen: values['max-len']
      ? Number(values['max-len'])
      : typeof side.max_len === 'number'
        ? side.max_len
        : undefined,
  });
  ctx.log(
    `imported ${file} as run ${res.run} (${res.variant}, K=${res.dims.K}, C=${res.dims.C}, V=${res.dims.V})`,
  );
  for (const w of res.warnings) ctx.err(`WARNING: ${w}`);
  return { ...res };
};
