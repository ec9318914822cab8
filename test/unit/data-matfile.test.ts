import { describe, expect, it } from 'vitest';
import { MatFileError, readMat } from '../../src-main/data/matfile.ts';
import { MI, MX, MatWriter } from '../integration/import-fixtures.ts';

describe('MAT-5 reader', () => {
  const w = new MatWriter();

  it('reads a double row vector stored as miDOUBLE', () => {
    const vars = readMat(w.file(w.matrix('labels', MX.DOUBLE, [1, 5], MI.DOUBLE, [77, 77, 1, 102, 3.5])));
    const v = vars.get('labels')!;
    expect(v).toMatchObject({ name: 'labels', className: 'double', dims: [1, 5] });
    expect(v.data).toEqual([77, 77, 1, 102, 3.5]);
  });

  it('reads a double array stored compactly as miUINT8 / miUINT16 (as MATLAB saves small integers)', () => {
    const vars = readMat(
      w.file(
        w.matrix('labels', MX.DOUBLE, [1, 4], MI.UINT8, [1, 2, 255, 0]),
        w.matrix('trnid', MX.DOUBLE, [1, 3], MI.UINT16, [8189, 300, 65535]),
      ),
    );
    expect(vars.get('labels')!.data).toEqual([1, 2, 255, 0]);
    expect(vars.get('trnid')!.data).toEqual([8189, 300, 65535]);
  });

  it('reads a uint8 matrix in column-major order', () => {
    const v = readMat(w.file(w.matrix('m', MX.UINT8, [2, 3], MI.UINT8, [1, 4, 2, 5, 3, 6]))).get('m')!;
    expect(v).toMatchObject({ className: 'uint8', dims: [2, 3], data: [1, 4, 2, 5, 3, 6] });
  });

  it('reads zlib-compressed variables (miCOMPRESSED), several per file, like setid.mat', () => {
    const buf = w.file(
      w.compressed(w.matrix('trnid', MX.DOUBLE, [1, 3], MI.UINT16, [5, 6, 7])),
      w.compressed(w.matrix('valid', MX.DOUBLE, [1, 2], MI.DOUBLE, [1, 2])),
      w.compressed(w.matrix('tstid', MX.DOUBLE, [1, 1], MI.UINT8, [3])),
    );
    const vars = readMat(buf);
    expect([...vars.keys()]).toEqual(['trnid', 'valid', 'tstid']);
    expect(vars.get('trnid')!.data).toEqual([5, 6, 7]);
    expect(vars.get('valid')!.data).toEqual([1, 2]);
    expect(vars.get('tstid')!.data).toEqual([3]);
  });

  it('reads the small data element format (a name of up to 4 bytes packed into the tag)', () => {
    const v = readMat(w.file(w.matrix('ab', MX.DOUBLE, [1, 2], MI.INT32, [-1, 2], true))).get('ab')!;
    expect(v.data).toEqual([-1, 2]);
  });

  it('reads big-endian files', () => {
    const be = new MatWriter(false);
    const vars = readMat(
      be.file(be.compressed(be.matrix('labels', MX.DOUBLE, [1, 3], MI.DOUBLE, [10, 20, 30]))),
    );
    expect(vars.get('labels')!.data).toEqual([10, 20, 30]);
  });

  it('reads char arrays as text', () => {
    const v = readMat(
      w.file(
        w.matrix(
          's',
          MX.CHAR,
          [1, 5],
          MI.UINT16,
          [...'iris!'].map((c) => c.charCodeAt(0)),
        ),
      ),
    ).get('s')!;
    expect(v.text).toBe('iris!');
  });

  it('rejects files that are not MAT-5, truncated or corrupt, and unsupported array kinds', () => {
    expect(() => readMat(Buffer.from('<html>not found</html>'))).toThrow(MatFileError);
    expect(() => readMat(Buffer.alloc(200, 0x41))).toThrow(/not a MAT-file/);
    const good = w.file(w.matrix('labels', MX.DOUBLE, [1, 5], MI.DOUBLE, [1, 2, 3, 4, 5]));
    expect(() => readMat(good.subarray(0, good.length - 20))).toThrow(/runs past the end/);
    const z = w.file(w.compressed(w.matrix('x', MX.DOUBLE, [1, 1], MI.DOUBLE, [1])));
    z.fill(0xff, 140, 150); // damage the zlib stream
    expect(() => readMat(z)).toThrow(/compressed/);
    expect(() => readMat(w.file(w.matrix('c', MX.CELL, [1, 1], MI.DOUBLE, [1])))).toThrow(
      /cell arrays are not supported/,
    );
    const v73 = Buffer.alloc(200);
    v73.write('MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5');
    expect(() => readMat(v73)).toThrow(/7\.3/);
  });
});
