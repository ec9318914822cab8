import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Browser mode's security rules, kept apart from the HTTP plumbing so they can be read (and
 * tested) on their own: a random session token compared in constant time, a strict CSP, and
 * checks on Host and Origin against DNS rebinding and cross-site WebSocket hijacking.
 */

export const CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
  "connect-src 'self' ws://127.0.0.1:*; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Headers on every response. No Access-Control-* header is ever sent: no CORS. */
export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export const TOKEN_COOKIE = 'plumage_token';

export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** Constant-time comparison; hashing first makes both sides the same length whatever was sent. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string' || given.length === 0 || given.length > 1024) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === TOKEN_COOKIE) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The token a request carries: `?token=` first, then the HttpOnly cookie set with index.html. */
export function requestToken(req: IncomingMessage, url: URL): string | null {
  return url.searchParams.get('token') ?? cookieToken(req);
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The Host header must name this machine's loopback (any port, so an SSH tunnel from a laptop
 * works): a page on a rebinding domain sends its own name and is refused.
 */
export function hostAllowed(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  try {
    return LOCAL_HOSTS.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/**
 * A WebSocket upgrade from a browser always carries Origin; it must be the page's own origin
 * (same host and port as the Host header). Non-browser clients (no Origin) still need the token.
 */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    const o = new URL(origin);
    return o.protocol === 'http:' && o.host === req.headers.host && LOCAL_HOSTS.has(o.hostname);
  } catch {
    return false;
  }
}
