import { z } from 'zod';
import type { InvokeChannel, Req, SendChannels } from '../../shared/ipc.ts';
import { captionRequest } from './ops/caption.ts';
import { evaluateRequest } from './ops/evaluate.ts';
import { importRequest } from './ops/import.ts';
import { captionText, id, LIMITS, noControl, path, runId, variant } from './ops/schemas.ts';
import { resumeRequest } from './ops/train.ts';

export { LIMITS } from './ops/schemas.ts';

/**
 * One zod schema per channel of shared/ipc.ts: every request is checked here, at the boundary,
 * before any handler runs. Objects are strict (unknown keys are refused) and every string and
 * array has a bound so a hostile or buggy renderer cannot make the main side allocate without limit.
 */

const none = z.union([z.undefined(), z.null(), z.strictObject({})]).transform(() => undefined);
const reviewStatus = z.enum(['unreviewed', 'accepted', 'fixed', 'rejected']);
const classRef = z.union([id, z.string().min(1).max(LIMITS.name)]);
const speciesName = z.string().trim().min(1).max(LIMITS.name).refine(noControl, 'control character in name');

/** A gallery query (images:query); images:ids takes the same filters and order without the paging. */
const imageQuery = z.strictObject({
  collectionId: id.optional(),
  classId: id.optional(),
  split: z.string().max(LIMITS.name).optional(),
  provenance: z.string().max(LIMITS.name).optional(),
  reviewStatus: reviewStatus.optional(),
  fileStatus: z.enum(['ok', 'changed', 'missing']).optional(),
  search: z.string().max(LIMITS.search).optional(),
  ids: z.array(id).max(LIMITS.ids).optional(),
  sort: z.enum(['path', 'disagreement', 'confidence', 'likelihood']).optional(),
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.number().int().min(1).max(LIMITS.page).optional(),
});

export const INVOKE_SCHEMAS = {
  'app:info': none,
  'collections:list': none,
  'classes:list': z.union([z.undefined(), z.null(), z.strictObject({ collectionId: id.optional() })]).transform((v) => v ?? {}),
  'images:query': imageQuery,
  'images:ids': imageQuery.omit({ offset: true, limit: true }),
  'images:get': z.strictObject({ id }),
  'labels:set': z.strictObject({ imageIds: z.array(id).min(1).max(LIMITS.ids), classId: id.nullable() }),
  'review:set': z.strictObject({ imageIds: z.array(id).min(1).max(LIMITS.ids), status: reviewStatus }),
  'captions:save': z.strictObject({
    imageId: id,
    captionId: id.optional(),
    text: captionText,
  }),
  'edits:undo': none,
  'edits:redo': none,
  'species:create': z.strictObject({ collectionId: id, name: speciesName, imageIds: z.array(id).max(LIMITS.ids).optional() }),
  'species:rename': z.strictObject({ classId: id, name: speciesName }),
  'species:merge': z.strictObject({ fromId: id, intoId: id }),
  // The window offers a subset of an operation's options: the channel schema picks them.
  'import:start': importRequest.pick({ kind: true, path: true, captions: true }),
  'demo:start': none,
  'jobs:list': none,
  'jobs:cancel': z.strictObject({ jobId: z.string().min(1).max(LIMITS.name) }),
  'runs:list': none,
  'train:start': z
    .union([
      z.undefined(),
      z.null(),
      z.strictObject({
        variant: variant.optional(),
        epochs: z.number().int().min(1).max(10_000).optional(),
        warmStart: z.boolean().optional(),
        collectionId: id.optional(),
        lr: z.number().positive().max(10).optional(),
        batch: z.number().int().min(1).max(4096).optional(),
        lambda: z.number().min(0).max(100).optional(),
        recipe: z.enum(['paper', 'practical']).optional(),
        name: z.string().trim().min(1).max(LIMITS.name).optional(),
        notes: z.string().max(LIMITS.text).optional(),
      }),
    ])
    .transform((v) => v ?? {}),
  'caption:start': captionRequest.pick({ folder: true, runId: true }),
  'predict:start': z.union([z.undefined(), z.null(), z.strictObject({ runId: runId.optional() })]).transform((v) => v ?? {}),
  'images:nextDisputed': z
    .union([z.undefined(), z.null(), z.strictObject({ afterId: id.optional(), collectionId: id.optional() })])
    .transform((v) => v ?? {}),
  'cams:get': z.strictObject({ imageId: id, runId: runId.optional() }),
  'cams:word': z.strictObject({ imageId: id, runId: runId.optional(), wordIndex: z.number().int().min(0).max(1000) }),
  'masks:get': z.strictObject({ imageId: id }),
  'masks:save': z.strictObject({
    imageId: id,
    width: z.number().int().min(1).max(LIMITS.maskSide),
    height: z.number().int().min(1).max(LIMITS.maskSide),
    // base64 of at most LIMITS.maskBytes bytes
    png: z
      .string()
      .min(12)
      .max(Math.ceil(LIMITS.maskBytes / 3) * 4)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'not base64'),
  }),
  'masks:clear': z.strictObject({ imageId: id }),
  'train:resumable': none,
  'train:resume': resumeRequest,
  'runs:get': z.strictObject({ id: runId }),
  'runs:compare': z.strictObject({ ids: z.array(runId).min(1).max(50) }),
  'runs:confusionCell': z.strictObject({ runId, trueClass: classRef, predClass: classRef }),
  'eval:start': evaluateRequest.pick({ runId: true }),
  'batch:list': none,
  'batch:results': z.strictObject({ jobId: id }),
  'batch:review': z.strictObject({
    jobId: id,
    relPath: z.string().min(1).max(LIMITS.path),
    review: z.enum(['accepted', 'edited', 'rejected']),
    caption: captionText.optional(),
  }),
  'batch:importAccepted': z.strictObject({ jobId: id, collectionId: id.optional() }),
  'batch:export': z.strictObject({ jobId: id, format: z.enum(['csv', 'coco']), path, include: z.enum(['accepted', 'all']).optional() }),
  'dialog:choose': z.strictObject({
    purpose: z.enum(['folder', 'file', 'save']),
    defaultName: z.string().min(1).max(LIMITS.name).optional(),
  }),
  'paths:check': z.strictObject({ path, expect: z.enum(['folder', 'file']) }),
} satisfies Record<InvokeChannel, z.ZodType>;

/** Compile-time check: what each schema lets through (z.infer) is a request of shared/ipc.ts's type. */
type SchemaMatchesIpc = {
  [C in InvokeChannel]: z.infer<(typeof INVOKE_SCHEMAS)[C]> extends Req<C> ? true : C;
};
// A channel whose schema and ipc type disagree names itself in the error here.
export const schemasMatchIpc: { [C in InvokeChannel]: true } = null as unknown as SchemaMatchesIpc;

export const SEND_SCHEMAS = {
  'log:renderer': z.strictObject({
    level: z.enum(['info', 'warn', 'error']),
    message: z.string().max(LIMITS.text),
  }),
} satisfies Record<keyof SendChannels, z.ZodType>;

export function isInvokeChannel(c: unknown): c is InvokeChannel {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(INVOKE_SCHEMAS, c);
}

export function isSendChannel(c: unknown): c is keyof SendChannels {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(SEND_SCHEMAS, c);
}

/** A short, stack-free description of what was wrong (first few issues only). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'request'}: ${i.message}`)
    .join('; ');
}
