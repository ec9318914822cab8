/**
 * Command-line arguments of `npm run bench`: which benchmarks to run (positional name prefixes),
 * on which backends (`--backends node,wasm`), and the options passed on to every benchmark
 * script. The parser knows every option a benchmark takes and whether it takes a value, so a
 * value such as `32` in `--batch 32` is never mistaken for a benchmark name, and a mistyped
 * option is an error instead of a silently ignored word.
 */
import { parseArgs } from 'node:util';

/** Options that are switches (no value). */
const SWITCHES = ['quick', 'no-torch', 'no-flat', 'json', 'part-masks'] as const;
/** Options that take a value: train-step's and the experiments' (bench/mask-pointing.ts, bench/decoding.ts). */
const VALUED = [
  'batch',
  'variant',
  'steps',
  'home',
  'runs',
  'split',
  'encoder',
  'epochs',
  'lr',
  'optimizer',
  'dims',
  'patience',
  'mu',
  'sigma',
  'seeds',
  'grid',
  'workers',
  'vocab',
  'images',
] as const;

export interface BenchArgs {
  /** benchmark name prefixes (empty: every non-experiment benchmark) */
  only: string[];
  /** backends to run each benchmark on, in order (empty: the process's own) */
  backends: string[];
  /** the benchmark options, in the order given, for each benchmark's own argv */
  passOn: string[];
}

/** One parsed argument, as node's parseArgs reports it with `tokens: true`. */
type Token =
  | { kind: 'positional'; value: string }
  | { kind: 'option'; name: string; value?: string }
  | { kind: 'option-terminator' };

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

const OPTIONS: Options = {
  backends: { type: 'string' },
  ...Object.fromEntries(SWITCHES.map((n) => [n, { type: 'boolean' as const }])),
  ...Object.fromEntries(VALUED.map((n) => [n, { type: 'string' as const }])),
};

/** Parses `npm run bench` arguments; throws a one-line Error on an unknown option or a missing value. */
export function parseBenchArgs(argv: string[]): BenchArgs {
  let tokens: Token[] | undefined;
  try {
    ({ tokens } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    }));
  } catch (e) {
    const known = ['backends', ...SWITCHES, ...VALUED].map((n) => `--${n}`).join(' ');
    // node's message goes on with advice about '--' that does not apply here: keep its first sentence
    const what = (e as Error).message.split(/\.\s/)[0];
    throw new Error(`bench: ${what} (options: ${known})`, { cause: e });
  }
  const only: string[] = [];
  const passOn: string[] = [];
  let backends: string[] = [];
  for (const t of tokens ?? []) {
    if (t.kind === 'positional') only.push(t.value);
    if (t.kind !== 'option') continue;
    if (t.name === 'backends') backends = splitList(t.value ?? '');
    else passOn.push(`--${t.name}`, ...(t.value === undefined ? [] : [t.value]));
  }
  return { only, backends, passOn };
}

const splitList = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Experiments and the Retrain bench (minutes of training each) run only when named explicitly. */
const EXPERIMENTS = ['mask-pointing.ts', 'decoding.ts', 'retrain.ts'];

/**
 * The benchmark scripts to run, sorted, out of the files of bench/: the ones whose name starts
 * with one of `only`, or every non-experiment one when `only` is empty. Throws when a name
 * matches no benchmark.
 */
export function selectBenches(filesInBench: string[], only: string[]): string[] {
  const benches = filesInBench.filter((f) => f.endsWith('.ts') && f !== 'run.ts').sort();
  if (only.length === 0) return benches.filter((f) => !EXPERIMENTS.includes(f));
  const unknown = only.find((o) => !benches.some((f) => f.startsWith(o)));
  if (unknown) {
    const names = benches.map((f) => f.replace(/\.ts$/, '')).join(', ');
    throw new Error(`bench: no benchmark named "${unknown}" (benchmarks: ${names})`);
  }
  return benches.filter((f) => only.some((o) => f.startsWith(o)));
}
