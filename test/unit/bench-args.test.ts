import { describe, expect, it } from 'vitest';
import { parseBenchArgs, selectBenches } from '../../bench/lib/args.ts';

describe('npm run bench arguments', () => {
  it('keeps option values out of the benchmark names', () => {
    const a = parseBenchArgs([
      'train-step',
      '--backends',
      'node,wasm',
      '--batch',
      '32',
      '--variant',
      'cam,medi',
    ]);
    expect(a.only).toEqual(['train-step']);
    expect(a.backends).toEqual(['node', 'wasm']);
    expect(a.passOn).toEqual(['--batch', '32', '--variant', 'cam,medi']);
  });

  it('accepts --name=value and switches in any position', () => {
    const a = parseBenchArgs(['--quick', '--backends=wasm', 'extract', '--steps=2', 'caption', '--no-torch']);
    expect(a.only).toEqual(['extract', 'caption']);
    expect(a.backends).toEqual(['wasm']);
    expect(a.passOn).toEqual(['--quick', '--steps', '2', '--no-torch']);
  });

  it('rejects an unknown option and a missing value in one line', () => {
    expect(() => parseBenchArgs(['--bach', '32'])).toThrow(/^bench: .*--bach[^\n]*$/);
    expect(() => parseBenchArgs(['train-step', '--batch'])).toThrow(/^bench: .*--batch/);
  });

  it('selects benchmarks by name prefix and refuses a name that matches none', () => {
    const files = ['run.ts', 'train-step.ts', 'extract.ts', 'decoding.ts', 'synth.ts'];
    expect(selectBenches(files, [])).toEqual(['extract.ts', 'synth.ts', 'train-step.ts']);
    expect(selectBenches(files, ['train', 'decoding'])).toEqual(['decoding.ts', 'train-step.ts']);
    expect(() => selectBenches(files, ['32'])).toThrow('no benchmark named "32"');
  });
});
