import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a byte buffer, lower-case hex: the content hash that keys images, features and thumbnails. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of a file, streamed (for files too big to hold in memory). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
