// The public API of SPEC.md section 2, same origin, JSON both ways.

const TIMEOUT_MS = 15000;

/** An API answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, serverMessage, {retryAfter = null, invalidToken = false} = {}) {
    super(serverMessage || `HTTP ${status}`);
    this.status = status;
    this.serverMessage = serverMessage || '';
    this.retryAfter = retryAfter; // seconds, from Retry-After
    this.invalidToken = invalidToken; // 401 with WWW-Authenticate: Bearer error="invalid_token"
  }
}

// The session's token; set by session.js. Kept here so every call can send it.
let bearer = null;
export function setToken(token) { bearer = token; }

/**
 * api('GET', '/api/feed') resolves to the decoded JSON body (null for an
 * empty body) or rejects with ApiError. opts: body (JSON-encoded), auth
 * (default true), signal.
 */
export async function api(method, path, {body, auth = true, signal} = {}) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && bearer) headers.Authorization = `Bearer ${bearer}`;
  const signals = [AbortSignal.timeout(TIMEOUT_MS)];
  if (signal) signals.push(signal);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, err.name === 'TimeoutError' ? 'timeout' : 'network');
  }
  const text = await res.text().catch(() => '');
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    throw new ApiError(res.status, typeof data?.error === 'string' ? data.error : '', {
      retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
      invalidToken: res.status === 401 && /invalid_token/.test(res.headers.get('WWW-Authenticate') ?? ''),
    });
  }
  return data;
}

/** Retry-After in seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(v) {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

/** Lists from the original services may be null; ours are []. */
export const list = (v) => (Array.isArray(v) ? v : []);

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
