import { defaultHome, onBackendResolved } from '../api/ops/startup.ts';
import type { CliContext, Command } from './context.ts';
import { describeFailure, usageError } from './errors.ts';

/**
 * Command table (docs/design.md: Command line). Each command lives in ./commands/<name>.ts and exports `run`.
 * Modules are imported lazily so `plumage score` does not pay for TF.js start-up.
 */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {
  synth: { summary: 'write synthetic birds in the CUB-200-2011 layout', load: () => import('./commands/synth.ts') },
  import: { summary: 'import <cub|flowers|folder|coco> PATH into the workspace', load: () => import('./commands/import.ts') },
  stats: { summary: 'summarise the workspace (collections, images, captions, splits)', load: () => import('./commands/stats.ts') },
  export: { summary: 'export <coco|csv> FILE: labels and captions', load: () => import('./commands/export.ts') },
  split: { summary: 'make a train/val/test split (random or paper protocol)', load: () => import('./commands/split.ts') },
  encoders: { summary: 'list the encoder registry with availability', load: () => import('./commands/encoders.ts') },
  extract: { summary: 'extract encoder features of every image into the cache', load: () => import('./commands/extract.ts') },
  train: { summary: 'train --variant <cnn|lrcn|medi|cam>', load: () => import('./commands/train.ts') },
  eval: { summary: 'eval --run ID: top-1/top-5, caption metrics, CAM agreement, pointing', load: () => import('./commands/eval.ts') },
  report: { summary: 'report --runs A,B,…: Table 2 layout in the terminal and as HTML', load: () => import('./commands/report.ts') },
  caption: { summary: 'caption FOLDER --run ID --out FILE: batch-caption photos', load: () => import('./commands/caption.ts') },
  score: { summary: 'score --refs R --cands C: BLEU, METEOR, ROUGE-L, CIDEr-D', load: () => import('./commands/score.ts') },
  inspect: { summary: 'inspect --weights W --inputs I: model outputs, CAMs, losses, L_cam gradient', load: () => import('./commands/inspect.ts') },
  export_weights: { summary: '', load: () => import('./commands/export-weights.ts') },
  'import-weights': { summary: 'import-weights FILE: a run from PyTorch-layout safetensors', load: () => import('./commands/import-weights.ts') },
  serve: { summary: 'serve [--port N]: browser mode on 127.0.0.1 with a session token', load: () => import('./commands/serve.ts') },
  doctor: { summary: 'which compute backends run here, which one is used, and why not the others', load: () => import('./commands/doctor.ts') },
  demo: { summary: 'synthetic birds → import → extract → four variants → Table 2', load: () => import('./commands/demo.ts') },
  experiment: { summary: 'experiment --variants … --seeds 1,2,3: Table 2 as mean ± sd over seeds', load: () => import('./commands/experiment.ts') },
};

function usage(): string {
  const lines = ['usage: plumage [--home DIR] [--json] <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (name === 'export_weights') continue;
    lines.push(`  ${name.padEnd(15)}${c.summary}`);
  }
  lines.push('', "  export weights --run ID --out W.safetensors   (model weights, PyTorch layout)");
  lines.push('', 'global: --home DIR (env PLUMAGE_HOME), --json (one JSON object on stdout)');
  return lines.join('\n');
}

/**
 * The folder given to --home. An empty value (`--home "$UNSET"`) or a flag in its place
 * (`--home --json`) is a mistake: refused rather than silently opening the default workspace or
 * creating a folder named after the flag.
 */
function homeValue(v: string | undefined): string {
  if (v === undefined) throw usageError('--home needs a folder');
  if (v.trim() === '') throw usageError('--home needs a folder (it was given an empty value)');
  if (v.startsWith('-')) throw usageError(`--home needs a folder, not the option '${v}'`);
  return v;
}

/** Splits global options (--home, --json) out of argv wherever they appear. */
function splitGlobals(argv: string[]) {
  const rest: string[] = [];
  let home = process.env.PLUMAGE_HOME || '';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') json = true;
    else if (a === '--home') home = homeValue(argv[++i]);
    else if (a.startsWith('--home=')) home = homeValue(a.slice('--home='.length));
    else rest.push(a);
  }
  return { rest, home: home || defaultHome(), json };
}

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const g = splitGlobals(argv);
    json = g.json;
    let [name, ...args] = g.rest;
    if (!name || name === 'help' || name === '--help' || name === '-h') {
      process.stdout.write(usage() + '\n');
      return name ? 0 : 2;
    }
    // `export weights …` is the model export; `export coco|csv` the data export.
    if (name === 'export' && args[0] === 'weights') {
      name = 'export_weights';
      args = args.slice(1);
    }
    const entry = COMMANDS[name];
    if (!entry) throw usageError(`unknown command '${name}' (see plumage --help)`);
    const ctx: CliContext = {
      argv: args,
      home: g.home,
      json,
      log: (line) => (json ? process.stderr : process.stdout).write(line + '\n'),
      err: (line) => process.stderr.write(line + '\n'),
    };
    const { run } = await entry.load();
    // Commands that compute say on what, with versions, as soon as TF.js has picked a backend.
    onBackendResolved((line) => ctx.err(`backend: ${line}`));
    const result = await run(ctx);
    if (json) process.stdout.write(JSON.stringify(result ?? {}) + '\n');
    return 0;
  } catch (e) {
    // The code decides the exit status and whether this is a bug (stack with PLUMAGE_DEBUG).
    const f = describeFailure(e);
    process.stderr.write(`plumage: ${f.line}\n`);
    if (process.env.PLUMAGE_DEBUG && f.internal) process.stderr.write(String((e as Error)?.stack) + '\n');
    if (json) process.stdout.write(JSON.stringify({ error: f.line, code: f.code }) + '\n');
    return f.exitCode;
  }
}
