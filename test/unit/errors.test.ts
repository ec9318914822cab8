import { describe, expect, it } from 'vitest';
import { humanError } from '../../shared/errors.ts';
import { toWireError } from '../../src-main/api/errors.ts';
import { describeFailure, EXIT_CODES } from '../../src-main/cli/errors.ts';
import { NotFoundError } from '../../src-main/data/edits.ts';
import { MatFileError } from '../../src-main/data/matfile.ts';
import { errorCode, fromWire, notFound, PlumageError, toWorkerError, unavailable } from '../../src-main/util/errors.ts';

describe('the PlumageError family', () => {
  it('gives every error a code: typed ones their own, errno ones io, anything else internal', () => {
    expect(errorCode(notFound('no run x'))).toBe('not_found');
    expect(errorCode(new NotFoundError('no image 3'))).toBe('not_found');
    expect(errorCode(new MatFileError('not a MAT-file'))).toBe('invalid_request');
    expect(errorCode(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))).toBe('io');
    expect(errorCode(new TypeError('x is undefined'))).toBe('internal');
    expect(errorCode('a string')).toBe('internal');
  });

  it('keeps the code across a worker boundary; an internal error stays a plain Error', () => {
    const back = fromWire(toWorkerError(unavailable('run r1 has no checkpoint')));
    expect(back).toBeInstanceOf(PlumageError);
    expect((back as PlumageError).code).toBe('unavailable');
    expect(back.message).toBe('run r1 has no checkpoint');
    const bug = fromWire(toWorkerError(new TypeError('boom\nstack')));
    expect(bug).not.toBeInstanceOf(PlumageError);
    expect(bug.message).toBe('boom');
  });

  it('the CLI maps codes (not message text) to exit statuses and one line', () => {
    expect(describeFailure(notFound('no run r9'))).toEqual({ code: 'not_found', exitCode: 1, line: 'no run r9', internal: false });
    expect(describeFailure(new PlumageError('invalid_request', '--epochs: expected a number')).exitCode).toBe(2);
    const bug = describeFailure(new RangeError('index 7 out of range\n  at foo'));
    expect(bug).toEqual({ code: 'internal', exitCode: 70, line: 'internal error: RangeError: index 7 out of range', internal: true });
    // a crash never exits like a user error
    expect(Object.entries(EXIT_CODES).filter(([c, n]) => c !== 'internal' && n === EXIT_CODES.internal)).toEqual([]);
  });

  it('the api sends typed errors as they are and hides the text of unexpected ones', () => {
    expect(toWireError(notFound('no image 4'))).toEqual({ code: 'not_found', message: 'no image 4' });
    expect(toWireError(new Error('secret /home/x path'))).toEqual({ code: 'internal', message: 'internal error (see the Plumage log)' });
  });

  it('the renderer gets a sentence, never a raw code or channel name', () => {
    const s = humanError({ code: 'invalid_request', message: 'images:get: id: expected a number' });
    expect(s).toBe('That request could not be carried out as asked: id: expected a number');
    expect(humanError({ code: 'not_found', message: 'no run r3' })).toBe('Plumage could not find what was asked for: no run r3');
    expect(humanError({ code: 'internal', message: 'TypeError at x' })).toBe('Something went wrong inside Plumage (details are in the log).');
    expect(humanError({ code: 'weird_code', message: 'x' })).not.toContain('weird_code');
    expect(humanError(undefined)).not.toMatch(/internal|_/);
  });
});
