/**
 * The attribute vocabulary of the synthetic birds and the species table built from it.
 * A species is a combination of attribute values; every image of a species draws exactly those
 * values, so captions and classifiers can be checked against this ground truth.
 */
import { Sfc32 } from '../../util/rng.ts';

export type RGB = readonly [number, number, number];

/** Named colours and the RGB they are drawn with (before per-image lighting). */
export const PALETTE = {
  red: [205, 38, 34],
  blue: [40, 88, 205],
  yellow: [245, 212, 38],
  black: [24, 24, 28],
  white: [242, 242, 236],
  brown: [124, 80, 44],
  grey: [138, 138, 144],
  green: [58, 142, 60],
  orange: [242, 128, 28],
} as const satisfies Record<string, RGB>;

export type ColorName = keyof typeof PALETTE;
export const COLORS = Object.keys(PALETTE) as ColorName[];

/** Every attribute and its possible values, in a fixed order (the order of attributes.txt). */
export const ATTRIBUTE_VALUES = {
  size: ['small', 'medium', 'large'],
  crown_color: COLORS,
  crest: ['no', 'yes'],
  eye_ring: ['none', 'white', 'yellow'],
  bill_shape: ['short', 'long', 'hooked'],
  bill_color: ['black', 'grey', 'orange', 'yellow'],
  wing_color: COLORS,
  wing_pattern: ['plain', 'striped', 'spotted'],
  breast_color: COLORS,
  breast_pattern: ['plain', 'striped', 'spotted'],
  belly_color: COLORS,
  tail_color: COLORS,
  tail_shape: ['forked', 'rounded', 'long'],
  leg_color: ['black', 'grey', 'orange', 'brown'],
} as const;

export type AttributeName = keyof typeof ATTRIBUTE_VALUES;
export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTE_VALUES) as AttributeName[];

export type BirdAttributes = { [K in AttributeName]: (typeof ATTRIBUTE_VALUES)[K][number] };

export interface Species {
  /** 1-based class id, as in classes.txt. */
  id: number;
  /** Human name, e.g. "Red-crowned Warbler". */
  name: string;
  /** CUB-style folder name, e.g. "001.Red_crowned_Warbler". */
  folder: string;
  /** CUB-style file stem, e.g. "Red_Crowned_Warbler". */
  fileStem: string;
  attributes: BirdAttributes;
  /** For a fine-grained sibling: the id of the species it differs from, and the single attribute that differs. */
  siblingOf?: { id: number; attribute: AttributeName };
}

/** The largest --species (CUB has 200 classes). */
export const MAX_SPECIES = 200;

/** Attributes whose value alone turns one species into its fine-grained sibling (all small parts). */
const SIBLING_ATTRIBUTES: AttributeName[] = ['crown_color', 'crest', 'bill_shape', 'eye_ring'];

/** The big colour regions: base species differ in at least two of them, so they are easy to tell apart. */
const MAJOR: AttributeName[] = ['wing_color', 'breast_color', 'belly_color', 'tail_color', 'crown_color', 'wing_pattern', 'breast_pattern'];

const NOUNS: Record<string, readonly string[]> = {
  short: ['Finch', 'Sparrow', 'Bunting', 'Warbler', 'Tit', 'Grosbeak', 'Seedeater', 'Canary'],
  long: ['Thrasher', 'Honeyeater', 'Sunbird', 'Kingfisher', 'Woodcreeper', 'Wren'],
  hooked: ['Shrike', 'Vireo', 'Flycatcher', 'Puffbird', 'Bushshrike'],
};

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A name fragment describing one attribute value ("Red-crowned", "Hook-billed", "Crested"). */
function descriptor(attr: AttributeName, a: BirdAttributes): string {
  switch (attr) {
    case 'crown_color':
      return `${cap(a.crown_color)}-crowned`;
    case 'wing_color':
      return `${cap(a.wing_color)}-winged`;
    case 'breast_color':
      return `${cap(a.breast_color)}-breasted`;
    case 'belly_color':
      return `${cap(a.belly_color)}-bellied`;
    case 'tail_color':
      return `${cap(a.tail_color)}-tailed`;
    case 'crest':
      return a.crest === 'yes' ? 'Crested' : 'Smooth-headed';
    case 'eye_ring':
      return a.eye_ring === 'none' ? 'Plain-faced' : `${cap(a.eye_ring)}-spectacled`;
    case 'bill_shape':
      return a.bill_shape === 'short' ? 'Short-billed' : a.bill_shape === 'long' ? 'Long-billed' : 'Hook-billed';
    case 'tail_shape':
      return a.tail_shape === 'forked' ? 'Fork-tailed' : a.tail_shape === 'long' ? 'Long-tailed' : 'Round-tailed';
    case 'wing_pattern':
      return a.wing_pattern === 'plain' ? 'Plain-winged' : a.wing_pattern === 'striped' ? 'Bar-winged' : 'Spot-winged';
    case 'breast_pattern':
      return a.breast_pattern === 'plain' ? 'Plain-breasted' : a.breast_pattern === 'striped' ? 'Streaked' : 'Speckled';
    case 'size':
      return a.size === 'small' ? 'Lesser' : a.size === 'large' ? 'Greater' : 'Common';
    default:
      return cap(String(a[attr]));
  }
}

function randomAttributes(rng: Sfc32): BirdAttributes {
  const pick = <K extends AttributeName>(k: K) => rng.pick(ATTRIBUTE_VALUES[k]) as BirdAttributes[K];
  const a: BirdAttributes = {
    size: pick('size'),
    crown_color: pick('crown_color'),
    crest: rng.chance(0.3) ? 'yes' : 'no',
    eye_ring: rng.chance(0.6) ? 'none' : rng.pick(['white', 'yellow'] as const),
    bill_shape: pick('bill_shape'),
    bill_color: pick('bill_color'),
    wing_color: pick('wing_color'),
    wing_pattern: rng.chance(0.5) ? 'plain' : rng.pick(['striped', 'spotted'] as const),
    breast_color: pick('breast_color'),
    breast_pattern: rng.chance(0.6) ? 'plain' : rng.pick(['striped', 'spotted'] as const),
    // Many real birds have the belly paler than, or the same as, the breast.
    belly_color: rng.chance(0.35) ? 'white' : pick('belly_color'),
    tail_color: pick('tail_color'),
    tail_shape: pick('tail_shape'),
    leg_color: pick('leg_color'),
  };
  // A crown the same colour as the wings (the head is drawn in the back colour) would be invisible.
  if (a.crown_color === a.wing_color) a.crown_color = COLORS[(COLORS.indexOf(a.crown_color) + 3) % COLORS.length];
  return a;
}

/** A sibling: the same bird with one small part changed to a clearly different value. */
function siblingAttributes(rng: Sfc32, base: BirdAttributes, attr: AttributeName): BirdAttributes {
  const a = { ...base };
  if (attr === 'crown_color') {
    const options = COLORS.filter((c) => c !== base.crown_color && c !== base.wing_color && c !== base.breast_color);
    a.crown_color = rng.pick(options);
  } else if (attr === 'crest') {
    a.crest = base.crest === 'yes' ? 'no' : 'yes';
  } else if (attr === 'bill_shape') {
    a.bill_shape = rng.pick(ATTRIBUTE_VALUES.bill_shape.filter((v) => v !== base.bill_shape));
  } else if (attr === 'eye_ring') {
    a.eye_ring = base.eye_ring === 'none' ? rng.pick(['white', 'yellow'] as const) : 'none';
  }
  return a;
}

function differences(a: BirdAttributes, b: BirdAttributes, attrs: readonly AttributeName[]): number {
  let n = 0;
  for (const k of attrs) if (a[k] !== b[k]) n++;
  return n;
}

function folderName(id: number, name: string): string {
  return `${String(id).padStart(3, '0')}.${name.replace(/[ -]/g, '_')}`;
}

function fileStem(name: string): string {
  return name
    .split(/[ -]/)
    .map(cap)
    .join('_');
}

let cache: Species[] | undefined;

/**
 * The fixed table of 200 species (independent of --seed, so "species 3" is always the same bird).
 * Every fourth species (2, 6, 10, …) is a fine-grained sibling of the one before it: the two differ
 * in a single small part (crown colour, crest, bill shape or eye ring, in turn). All other species
 * differ from each other in at least three of the big colour/pattern regions.
 */
export function speciesTable(): Species[] {
  if (cache) return cache;
  const rng = new Sfc32(0x5eed_b1d5);
  const out: Species[] = [];
  const used = new Set<string>();
  let nounIndex = 0;
  for (let i = 0; i < MAX_SPECIES; i++) {
    const id = i + 1;
    let attributes: BirdAttributes;
    let siblingOf: Species['siblingOf'];
    if (i % 4 === 1) {
      const base = out[i - 1];
      const attribute = SIBLING_ATTRIBUTES[Math.floor(i / 4) % SIBLING_ATTRIBUTES.length];
      attributes = siblingAttributes(rng, base.attributes, attribute);
      siblingOf = { id: base.id, attribute };
    } else {
      let tries = 0;
      do {
        attributes = randomAttributes(rng);
        tries++;
      } while (tries < 1000 && out.some((s) => differences(s.attributes, attributes, MAJOR) < 3));
    }
    // Names: a sibling pair shares its noun and is told apart by the differing attribute.
    let name: string;
    if (siblingOf) {
      const base = out[i - 1];
      const noun = base.name.split(' ').pop()!;
      name = `${descriptor(siblingOf.attribute, attributes)} ${noun}`;
      // Rename the base too so the pair reads as a pair ("Red-crowned Finch" / "Blue-crowned Finch").
      const baseName = `${descriptor(siblingOf.attribute, base.attributes)} ${noun}`;
      if (!used.has(baseName) && baseName !== name) {
        used.delete(base.name);
        used.add(baseName);
        base.name = baseName;
        base.folder = folderName(base.id, baseName);
        base.fileStem = fileStem(baseName);
      }
    } else {
      const nouns = NOUNS[attributes.bill_shape];
      const noun = nouns[nounIndex++ % nouns.length];
      name = `${descriptor(rng.pick(MAJOR), attributes)} ${noun}`;
    }
    // Keep names unique by adding further descriptors in a fixed order.
    for (const extra of ATTRIBUTE_NAMES) {
      if (!used.has(name)) break;
      name = `${descriptor(extra, attributes)} ${name}`;
    }
    used.add(name);
    out.push({ id, name, folder: folderName(id, name), fileStem: fileStem(name), attributes, siblingOf });
  }
  cache = out;
  return out;
}
