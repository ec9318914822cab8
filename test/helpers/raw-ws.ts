import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client that writes frames byte for byte over a real TCP socket, so tests can send
 * what no well-behaved library would: reserved bits, unmasked frames, invalid UTF-8, lying length
 * headers. It reads back server frames (unmasked, as RFC 6455 requires of servers).
 */

export interface FrameSpec {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  rsv?: number; // 0..7, placed in bits 4-6 of the first byte
  masked?: boolean;
  /** Length written in the header when it should lie about the payload. */
  declaredLength?: number;
}

export function encodeFrame(f: FrameSpec): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const len = f.declaredLength ?? payload.length;
  const masked = f.masked ?? true;
  const head: number[] = [(f.fin === false ? 0 : 0x80) | ((f.rsv ?? 0) << 4) | (f.opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) head.push(maskBit | len);
  else if (len < 65536) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Splits complete server frames off the front of `buf`; returns them and the leftover bytes. */
function takeFrames(buf: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (buf.length - at >= 2) {
    let len = buf[at + 1] & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (buf.length - off < 2) break;
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (buf.length - off < 8) break;
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (buf.length - off < len) break;
    frames.push({ opcode: buf[at] & 0x0f, payload: buf.subarray(off, off + len) });
    at = off + len;
  }
  return { frames, rest: buf.subarray(at) };
}

export interface RawClient {
  socket: Socket;
  frames: ServerFrame[];
  write(bytes: Buffer): void;
  /** Resolves with the close code the server sent (or null if the socket ended without one). */
  closed: Promise<number | null>;
  /** The first text frame (from index `from` of `frames`) parsed as JSON that satisfies `pred`. */
  nextJson(pred?: (m: any) => boolean, timeoutMs?: number, from?: number): Promise<any>;
  end(): void;
}

/** Opens `/ws?token=…` on 127.0.0.1:port with a hand-written upgrade request. */
export function rawConnect(port: number, token: string): Promise<RawClient> {
  return new Promise((resolveClient, reject) => {
    const socket = connect(port, '127.0.0.1');
    const frames: ServerFrame[] = [];
    const waiters: (() => void)[] = [];
    let buf: Buffer = Buffer.alloc(0);
    let upgraded = false;
    let closeCode: number | null = null;
    let resolveClosed!: (c: number | null) => void;
    const closed = new Promise<number | null>((r) => (resolveClosed = r));
    socket.on('error', () => {}); // EPIPE/ECONNRESET after the server closed: expected here
    socket.on('close', () => resolveClosed(closeCode));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolveClient(client);
      }
      const { frames: got, rest } = takeFrames(buf);
      buf = rest;
      for (const f of got) {
        if (f.opcode === 8 && closeCode === null) closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
        frames.push(f);
      }
      waiters.splice(0).forEach((w) => w());
    });
    const client: RawClient = {
      socket,
      frames,
      closed,
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      end: () => socket.destroy(),
      nextJson(pred = () => true, timeoutMs = 5000, from = 0) {
        let seen = from;
        return new Promise((done, fail) => {
          const timer = setTimeout(() => fail(new Error('no matching frame')), timeoutMs);
          const check = () => {
            for (; seen < frames.length; seen++) {
              const f = frames[seen];
              if (f.opcode !== 1) continue;
              const m = JSON.parse(f.payload.toString());
              if (pred(m)) {
                clearTimeout(timer);
                return done(m);
              }
            }
            waiters.push(check);
          };
          check();
        });
      },
    };
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

/** A masked JSON text frame. */
export function jsonFrame(value: unknown): Buffer {
  return encodeFrame({ opcode: 1, payload: Buffer.from(JSON.stringify(value)) });
}
