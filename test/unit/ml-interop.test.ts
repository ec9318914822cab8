/**
 * The interop contract (docs/design.md: Weights interop with PyTorch): the real CLI, `plumage inspect` on the PyTorch reference's
 * public vector, must reproduce every field of expected.json (computed in float64 by
 * ../shared/ref/torch_joint.py) to 1e-4 of each array's largest |value|, integers exactly —
 * the second-order L_cam gradient included; and the Algorithm-1 gradient of every parameter
 * (`--grad-total`) must match expected.json's grad_total.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedPath } from '../helpers/shared.ts';

const repo = resolve(import.meta.dirname, '../..');
const ref = sharedPath('ref/interop_public');
const expected = JSON.parse(readFileSync(resolve(ref, 'expected.json'), 'utf8'));
const FIELDS = [
  'logits',
  'cam_cls_pred',
  'cam_cls_gt',
  'cam_cap_gt',
  'cam_cap_pred',
  'pred_captions',
  'loss_class',
  'loss_caption',
  'loss_cam',
  'grad_cam_medi_weight',
  'grad_cam_medi_bias',
];
const INTEGER = new Set(['pred_captions', 'class_pred']);

/** Runs the CLI (on the backend PLUMAGE_BACKEND names, inherited); parsed stdout + the backend line. */
function inspectRun(extra: string[] = []) {
  const r = spawnSync(
    process.execPath,
    [
      'bin/plumage.js',
      'inspect',
      '--weights',
      resolve(ref, 'weights.safetensors'),
      '--inputs',
      resolve(ref, 'inputs.safetensors'),
      '--json',
      ...extra,
    ],
    { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (r.status !== 0) throw new Error(`plumage inspect failed: ${r.stderr}`);
  return { json: JSON.parse(r.stdout), backend: /^backend: (.*)$/m.exec(r.stderr)?.[1] ?? '' };
}
const inspect = (extra: string[] = []) => inspectRun(extra).json;

const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
const shape = (x: unknown): number[] => (Array.isArray(x) ? [x.length, ...shape(x[0])] : []);

function expectClose(name: string, got: unknown, want: unknown) {
  expect(shape(got), `${name} shape`).toEqual(shape(want));
  const g = flat(got);
  const w = flat(want);
  if (INTEGER.has(name)) {
    expect(g, name).toEqual(w);
    return;
  }
  const scale = Math.max(...w.map(Math.abs));
  const err = Math.max(...g.map((x, i) => Math.abs(x - w[i])));
  expect(err / scale, `${name}: max error ${err} vs scale ${scale}`).toBeLessThan(1e-4);
}

describe(`plumage inspect reproduces the PyTorch reference (interop_public) on ${process.env.PLUMAGE_BACKEND || 'the default backend'}`, () => {
  const first = inspectRun();
  const out = first.json;

  it('ran on the backend the suite asked for', () => {
    expect(first.backend).toMatch(new RegExp(`^${process.env.PLUMAGE_BACKEND || '(gpu|node|wasm|cpu)'} — `));
  });

  it('prints exactly the contract fields', () => {
    expect(Object.keys(out).sort()).toEqual([...FIELDS].sort());
  });

  it.each(FIELDS)('%s matches expected.json', (name) => {
    expectClose(name, out[name], expected[name]);
  });

  it('matches grad_total (Algorithm 1 gradients of every parameter) and class_pred', () => {
    const all = inspect(['--grad-total']);
    expectClose('class_pred', all.class_pred, expected.class_pred);
    expect(Object.keys(all.grad_total).sort()).toEqual(Object.keys(expected.grad_total).sort());
    for (const name of Object.keys(expected.grad_total))
      expectClose(`grad_total.${name}`, all.grad_total[name], expected.grad_total[name]);
  });

  it('fails with a one-line reason on a missing file', () => {
    let code = 0;
    let stderr = '';
    try {
      execFileSync(
        process.execPath,
        ['bin/plumage.js', 'inspect', '--weights', 'nope.safetensors', '--inputs', 'nope2', '--json'],
        {
          cwd: repo,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    } catch (e) {
      code = (e as { status: number }).status;
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/plumage: .*nope\.safetensors/);
  });
});
