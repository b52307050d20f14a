// The login session: the token lives in memory and in sessionStorage (this
// tab only, gone when it closes); never in local storage or a cookie.
import {setToken} from './api.js';

const KEY = 'caddy-social.session';
let current = null;
let expiryTimer = null;
const listeners = new Set();

/** {token, userId, email, expiresAt} or null. */
export function session() { return current; }

export function onSessionChange(fn) { listeners.add(fn); }

/** Starts a session from a login answer. */
export function startSession(email, {access_token: token, expires_in: expiresIn}) {
  const claims = decodeClaims(token);
  const expiresAt = claims?.exp ? claims.exp * 1000 : Date.now() + expiresIn * 1000;
  set({token, userId: claims?.sub ?? '', email, expiresAt});
}

/** Ends the session; reason (optional) is shown on the login page. */
export function endSession(reason) {
  set(null, reason);
}

/** Restores this tab's session after a reload, if it has not expired. */
export function restoreSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (s?.token && s.expiresAt > Date.now()) { set(s, null, false); return; }
  } catch { /* a corrupt entry is no session */ }
  sessionStorage.removeItem(KEY);
}

function set(s, reason, notify = true) {
  current = s;
  setToken(s?.token ?? null);
  clearTimeout(expiryTimer);
  if (s) {
    sessionStorage.setItem(KEY, JSON.stringify(s));
    // setTimeout takes at most 2^31-1 ms; tokens live far shorter.
    expiryTimer = setTimeout(() => endSession('Your session has expired. Please log in again.'),
      Math.min(s.expiresAt - Date.now(), 2 ** 31 - 1));
  } else {
    sessionStorage.removeItem(KEY);
  }
  if (notify) listeners.forEach((fn) => fn(s, reason));
}

// The payload is only read for the user id and expiry; the gateway verifies it.
function decodeClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')));
  } catch {
    return null;
  }
}
