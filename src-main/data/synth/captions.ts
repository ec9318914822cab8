/**
 * Caption grammar for synthetic birds, in the style of Reed et al.'s CUB captions
 * ("this bird has a red crown and black wings"). Every caption mentions 2–4 attributes of the
 * image, chosen at random, and only attributes that were actually drawn. Phrases always keep a
 * colour next to the part it colours ("a red crown", "wings that are black", "red-crowned"), so a
 * caption can be checked against the ground truth mechanically.
 */
import type { BirdAttributes } from './attributes.ts';
import type { Sfc32 } from '../../util/rng.ts';

/** Things a caption can talk about; each maps to one or two attributes. */
export type Topic = 'size' | 'crown' | 'crest' | 'eye_ring' | 'bill' | 'wing' | 'breast' | 'belly' | 'tail' | 'legs';

interface Phrase {
  /** Noun phrase with its article if it needs one: "a red crown", "black wings". */
  np: string;
  /** For the "<part> that is/are <colour>" and "its <part> is <colour>" forms. */
  part?: string;
  color?: string;
  plural?: boolean;
  /** Adjective form for "a red-crowned bird". */
  compound?: string;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
function withArticle(words: string): string {
  return `${article(words)} ${words}`;
}
function joinWords(...w: (string | undefined | false)[]): string {
  return w.filter(Boolean).join(' ');
}

const BILL_WORDS: Record<BirdAttributes['bill_shape'], readonly string[]> = {
  short: ['short', 'short pointed', 'short conical', 'stubby'],
  long: ['long', 'long thin', 'long pointed', 'long narrow'],
  hooked: ['hooked', 'sharp hooked', 'curved hooked'],
};
const TAIL_WORDS: Record<BirdAttributes['tail_shape'], readonly string[]> = {
  forked: ['forked', 'deeply forked'],
  rounded: ['rounded', 'short rounded'],
  long: ['long', 'very long'],
};
const PATTERN_WORDS = { striped: ['striped', 'streaked'], spotted: ['spotted', 'speckled'] } as const;

function phrase(topic: Topic, a: BirdAttributes, rng: Sfc32): Phrase {
  switch (topic) {
    case 'crown':
      return { np: withArticle(`${a.crown_color} crown`), part: 'crown', color: a.crown_color, compound: `${a.crown_color}-crowned` };
    case 'crest':
      return rng.chance(0.5)
        ? { np: withArticle(joinWords(rng.chance(0.5) && 'pointed', `${a.crown_color} crest`)), compound: 'crested' }
        : { np: rng.pick(['a crest on its head', 'a small crest', 'a pointed crest']), compound: 'crested' };
    case 'eye_ring':
      return rng.chance(0.5)
        ? { np: withArticle(`${a.eye_ring} eye ring`) }
        : { np: rng.pick([`${a.eye_ring} rings around its eyes`, `${withArticle(a.eye_ring)} ring around the eye`]) };
    case 'bill': {
      const noun = rng.pick(['bill', 'beak']);
      const shape = rng.pick(BILL_WORDS[a.bill_shape]);
      const colored = rng.chance(0.5);
      return {
        np: withArticle(joinWords(shape, colored && a.bill_color, noun)),
        part: noun,
        color: a.bill_color,
        compound: a.bill_shape === 'hooked' ? 'hook-billed' : `${a.bill_shape}-billed`,
      };
    }
    case 'wing': {
      const pat = a.wing_pattern !== 'plain' && rng.chance(0.8) ? rng.pick(PATTERN_WORDS[a.wing_pattern]) : undefined;
      return { np: joinWords(pat, a.wing_color, 'wings'), part: 'wings', color: a.wing_color, plural: true, compound: `${a.wing_color}-winged` };
    }
    case 'breast': {
      const noun = rng.pick(['breast', 'breast', 'chest']);
      const pat = a.breast_pattern !== 'plain' && rng.chance(0.8) ? rng.pick(PATTERN_WORDS[a.breast_pattern]) : undefined;
      return { np: withArticle(joinWords(pat, a.breast_color, noun)), part: noun, color: a.breast_color, compound: `${a.breast_color}-breasted` };
    }
    case 'belly':
      return { np: withArticle(`${a.belly_color} belly`), part: 'belly', color: a.belly_color, compound: `${a.belly_color}-bellied` };
    case 'tail': {
      const shape = rng.chance(0.6) ? rng.pick(TAIL_WORDS[a.tail_shape]) : undefined;
      return { np: withArticle(joinWords(shape, a.tail_color, 'tail')), part: 'tail', color: a.tail_color, compound: `${a.tail_color}-tailed` };
    }
    case 'legs': {
      const noun = rng.pick(['legs', 'feet', 'legs and feet']);
      return { np: `${a.leg_color} ${noun}`, part: noun, color: a.leg_color, plural: true };
    }
    case 'size':
      return { np: a.size };
  }
}

/** The topics an image offers: absent features (no crest, no eye ring) are never mentioned. */
export function topicsOf(a: BirdAttributes): Topic[] {
  const t: Topic[] = ['size', 'crown', 'bill', 'wing', 'breast', 'belly', 'tail', 'legs'];
  if (a.crest === 'yes') t.push('crest');
  if (a.eye_ring !== 'none') t.push('eye_ring');
  return t;
}

function list(items: string[], rng: Sfc32): string {
  if (items.length <= 1) return items.join('');
  const last = items[items.length - 1];
  const head = items.slice(0, -1).join(', ');
  return `${head}${items.length > 2 && rng.chance(0.5) ? ',' : ''} and ${last}`;
}

function sizeWord(size: string, rng: Sfc32): string {
  return size === 'medium' ? rng.pick(['medium sized', 'medium-sized', 'medium']) : size === 'small' ? rng.pick(['small', 'small', 'tiny']) : rng.pick(['large', 'big']);
}

/** One caption about 2–4 randomly chosen drawn attributes. */
export function caption(a: BirdAttributes, rng: Sfc32): string {
  const k = 2 + rng.int(3);
  const chosen = rng.sample(topicsOf(a), k);
  const hasSize = chosen.includes('size');
  const size = hasSize ? sizeWord(a.size, rng) : '';
  const phrases = chosen.filter((t) => t !== 'size').map((t) => phrase(t, a, rng));
  const nps = () => phrases.map((p) => p.np);
  const bird = hasSize ? `${size} bird` : 'bird';
  const forms: Array<() => string | undefined> = [
    () => `this ${bird} has ${list(nps(), rng)}`,
    () => `${withArticle(bird)} with ${list(nps(), rng)}`,
    () => `the ${bird} has ${list(nps(), rng)}`,
    () => `this is ${withArticle(bird)} with ${list(nps(), rng)}`,
    () => `this ${bird} has ${list(nps().slice(0, -1), rng)} and ${phrases.length > 1 ? 'has ' : ''}${nps().slice(-1)[0]}`,
    () => {
      // "a small red-crowned bird with black wings"
      const i = phrases.findIndex((p) => p.compound);
      if (i < 0 || phrases.length < 2) return undefined;
      const c = phrases[i].compound!;
      const rest = phrases.filter((_, j) => j !== i).map((p) => p.np);
      return `${withArticle(joinWords(hasSize && size, c, 'bird'))} with ${list(rest, rng)}`;
    },
    () => {
      // "this bird has wings that are black and has a white belly" (Reed's most common form)
      const i = phrases.findIndex((p) => p.part && p.color);
      if (i < 0 || phrases.length < 2) return undefined;
      const p = phrases[i];
      const rest = phrases.filter((_, j) => j !== i).map((q) => q.np);
      return `this ${bird} has ${p.plural ? '' : 'a '}${p.part} that ${p.plural ? 'are' : 'is'} ${p.color} and has ${list(rest, rng)}`;
    },
    () => {
      // "the bird has a long tail, and its crown is red"
      const i = phrases.findIndex((p) => p.part && p.color);
      if (i < 0 || phrases.length < 2) return undefined;
      const p = phrases[i];
      const rest = phrases.filter((_, j) => j !== i).map((q) => q.np);
      return `${rng.pick(['the', 'this'])} ${bird} has ${list(rest, rng)}, and its ${p.part} ${p.plural ? 'are' : 'is'} ${p.color}`;
    },
    () => {
      // "a black crown and orange legs are visible on this small bird"
      if (phrases.length < 2) return undefined;
      return `${list(nps(), rng)} ${rng.pick(['are visible on', 'stand out on', 'distinguish'])} this ${bird}`;
    },
  ];
  let text: string | undefined;
  while (!text) text = rng.pick(forms)();
  // Real captions are mostly lower case, sometimes capitalised, usually with a final period.
  if (rng.chance(0.15)) text = text.charAt(0).toUpperCase() + text.slice(1);
  if (rng.chance(0.65)) text += '.';
  return text;
}

/** Ten different captions for one image. */
export function captionsFor(a: BirdAttributes, rng: Sfc32, n = 10): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let tries = 0; out.length < n && tries < 200; tries++) {
    const c = caption(a, rng);
    const key = c.toLowerCase().replace(/\.$/, '');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  while (out.length < n) out.push(caption(a, rng)); // practically unreachable; keeps the count exact
  return out;
}
