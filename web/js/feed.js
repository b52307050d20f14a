// The live feed: Server-Sent Events from /api/feed/stream when the server
// offers them, else a periodic refresh of /api/feed. EventSource cannot send
// an Authorization header, so the stream is read with fetch (sse.js parses it).
import {api, list} from './api.js';
import {session} from './session.js';
import {sseParser} from './sse.js';

export const POLL_MS = 5000;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30000;
// No byte, not even a heartbeat (at most 15 s apart), for this long: the stream is dead.
const STALL_MS = 45000;

/**
 * Starts feeding onUpdate(items, {mode}) with the newest feed (items: the
 * feed's item shape, newest first) and onError(ApiError); mode is "live" or
 * "refresh". Returns stop().
 */
export function liveFeed({onUpdate, onError}) {
  const stopper = new AbortController();
  const {signal} = stopper;
  let items = [];
  let mode = 'refresh';
  let pollTimer = null;

  const publish = () => onUpdate(items, {mode});

  async function refresh() {
    try {
      items = list(await api('GET', '/api/feed', {signal})).slice(0, 10);
      publish();
    } catch (err) {
      if (!signal.aborted) onError(err);
    }
  }

  function poll() {
    clearTimeout(pollTimer);
    if (signal.aborted) return;
    pollTimer = setTimeout(async () => {
      if (!document.hidden) await refresh();
      poll();
    }, POLL_MS);
  }

  const onVisible = () => { if (!document.hidden && mode === 'refresh') refresh(); };
  document.addEventListener('visibilitychange', onVisible);
  signal.addEventListener('abort', () => {
    clearTimeout(pollTimer);
    document.removeEventListener('visibilitychange', onVisible);
  });

  (async () => {
    await refresh();
    let lastId = null;
    let delay = RECONNECT_MIN_MS;
    while (!signal.aborted) {
      const result = await stream(lastId, signal, (ev) => {
        if (ev.id) lastId = ev.id;
        if (ev.event !== 'post') return;
        let item;
        try { item = JSON.parse(ev.data); } catch { return; }
        if (!items.some((x) => sameItem(x, item))) items = [item, ...items].slice(0, 10);
        publish();
      }, () => {
        mode = 'live';
        delay = RECONNECT_MIN_MS;
        clearTimeout(pollTimer);
        publish();
      });
      if (signal.aborted) return;
      if (result === 'unsupported') {
        // The server has no stream (404, 405, not an event stream): refresh instead.
        mode = 'refresh';
        publish();
        poll();
        return;
      }
      // A dropped stream: refresh meanwhile, reconnect with Last-Event-ID.
      if (mode === 'live') { mode = 'refresh'; publish(); }
      poll();
      await sleep(delay + Math.random() * delay, signal);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  })();

  return () => stopper.abort();
}

function sameItem(a, b) {
  return a.author_uuid === b.author_uuid && a.timestamp === b.timestamp && a.content === b.content;
}

/**
 * Reads one connection of the stream, calling onEvent for each event and
 * onOpen once connected. Resolves "unsupported", "ended" or "failed".
 */
async function stream(lastId, outer, onEvent, onOpen) {
  const headers = {Accept: 'text/event-stream'};
  if (lastId) headers['Last-Event-ID'] = lastId;
  const local = new AbortController();
  const signal = AbortSignal.any([outer, local.signal]);
  let res;
  try {
    res = await fetchStream(headers, signal);
  } catch {
    return 'failed';
  }
  if (res.status === 401) return 'failed'; // the views see 401 on their next call
  if (res.status === 404 || res.status === 405 || res.status === 501
    || (res.ok && !(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream'))) {
    res.body?.cancel().catch(() => {});
    return 'unsupported';
  }
  if (!res.ok || !res.body) return 'failed';
  onOpen();

  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const push = sseParser(onEvent);
  let stall = setTimeout(() => local.abort(), STALL_MS);
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return 'ended';
      clearTimeout(stall);
      stall = setTimeout(() => local.abort(), STALL_MS);
      push(value);
    }
  } catch {
    return 'failed';
  } finally {
    clearTimeout(stall);
    reader.cancel().catch(() => {});
  }
}

async function fetchStream(headers, signal) {
  const {Authorization} = authHeader();
  return fetch('/api/feed/stream', {
    headers: {...headers, Authorization},
    signal,
    cache: 'no-store',
    credentials: 'omit',
  });
}

// The token is read per connection: a new login replaces it.
function authHeader() {
  return {Authorization: `Bearer ${session()?.token ?? ''}`};
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, {once: true});
  });
}
