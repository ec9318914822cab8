import { PlumageError } from '../../util/errors.ts';
/**
 * Reading reference / candidate caption files for `plumage score`. Two shapes each:
 *  - plain: refs `{"<id>": ["ref", …]}`, cands `{"<id>": "candidate"}`;
 *  - COCO: refs = a captions annotation file (`{"annotations": [{image_id, caption}, …]}`),
 *    cands = a results file (`[{image_id, caption}, …]`).
 * With a COCO results file only the images it covers are scored (as COCOEvalCap does).
 */
export interface CaptionCorpus {
  refs: Record<string, string[]>;
  cands: Record<string, string>;
  refsFormat: 'plain' | 'coco';
  candsFormat: 'plain' | 'coco';
}

/** A problem with the user's input files; the message is meant for the user as-is. */
/** Reference or candidate captions in a shape the scorer cannot read. */
export class CaptionInputError extends PlumageError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function parseRefs(data: unknown, name = 'refs'): { refs: Record<string, string[]>; format: 'plain' | 'coco' } {
  if (isRecord(data) && Array.isArray(data.annotations)) {
    const refs: Record<string, string[]> = {};
    data.annotations.forEach((a: unknown, i: number) => {
      if (!isRecord(a) || a.image_id === undefined || typeof a.caption !== 'string')
        throw new CaptionInputError(`${name}: annotations[${i}] needs image_id and a caption string`);
      (refs[String(a.image_id)] ??= []).push(a.caption);
    });
    return { refs, format: 'coco' };
  }
  if (!isRecord(data)) throw new CaptionInputError(`${name}: expected {"<id>": ["ref", …]} or a COCO annotation file`);
  const refs: Record<string, string[]> = {};
  for (const [id, v] of Object.entries(data)) {
    if (typeof v === 'string') refs[id] = [v];
    else if (Array.isArray(v) && v.every((s) => typeof s === 'string')) refs[id] = v as string[];
    else throw new CaptionInputError(`${name}: the value of id "${id}" is not a list of strings`);
    if (refs[id].length === 0) throw new CaptionInputError(`${name}: id "${id}" has no references`);
  }
  return { refs, format: 'plain' };
}

export function parseCands(data: unknown, name = 'cands'): { cands: Record<string, string>; format: 'plain' | 'coco' } {
  const cands: Record<string, string> = {};
  if (Array.isArray(data)) {
    data.forEach((r: unknown, i: number) => {
      if (!isRecord(r) || r.image_id === undefined || typeof r.caption !== 'string')
        throw new CaptionInputError(`${name}: entry ${i} needs image_id and a caption string`);
      const id = String(r.image_id);
      if (Object.hasOwn(cands, id)) throw new CaptionInputError(`${name}: image_id ${id} has more than one result`);
      cands[id] = r.caption;
    });
    return { cands, format: 'coco' };
  }
  if (!isRecord(data)) throw new CaptionInputError(`${name}: expected {"<id>": "candidate"} or a COCO results list`);
  for (const [id, v] of Object.entries(data)) {
    if (typeof v === 'string') cands[id] = v;
    else if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') cands[id] = v[0];
    else throw new CaptionInputError(`${name}: the value of id "${id}" is not a caption string`);
  }
  return { cands, format: 'plain' };
}

/** Pairs references and candidates, with one clear error when ids do not line up. */
export function pairCorpus(refsData: unknown, candsData: unknown): CaptionCorpus {
  const { refs, format: refsFormat } = parseRefs(refsData);
  const { cands, format: candsFormat } = parseCands(candsData);
  const ids = Object.keys(cands);
  if (ids.length === 0) throw new CaptionInputError('cands: no candidates');
  const noRefs = ids.filter((id) => !Object.hasOwn(refs, id));
  if (noRefs.length)
    throw new CaptionInputError(`${noRefs.length} candidate id(s) have no references: ${noRefs.slice(0, 5).join(', ')}${noRefs.length > 5 ? ', …' : ''}`);
  let pairedRefs = refs;
  if (candsFormat === 'coco') {
    pairedRefs = {};
    for (const id of ids) pairedRefs[id] = refs[id];
  } else {
    const noCand = Object.keys(refs).filter((id) => !Object.hasOwn(cands, id));
    if (noCand.length)
      throw new CaptionInputError(`${noCand.length} reference id(s) have no candidate: ${noCand.slice(0, 5).join(', ')}${noCand.length > 5 ? ', …' : ''}`);
  }
  return { refs: pairedRefs, cands, refsFormat, candsFormat };
}
