// The client's shell: hash routes, the navigation, the session's start and end.
import {announce, replace} from './dom.js';
import {endSession, onSessionChange, restoreSession, session} from './session.js';
import {loginView, registerView} from './views/auth.js';
import {feedView} from './views/feed.js';
import {postsView} from './views/posts.js';
import {friendsView} from './views/friends.js';
import {lookupView} from './views/lookup.js';
import {profileView} from './views/profile.js';
import {accountView} from './views/account.js';

// route -> [title, view, needs a session]
const ROUTES = {
  login: ['Log in', loginView, false],
  register: ['Create an account', registerView, false],
  feed: ['Feed', feedView, true],
  posts: ['My posts', postsView, true],
  friends: ['Friends', friendsView, true],
  lookup: ['Find a user', lookupView, true],
  user: ['User', lookupView, true],
  profile: ['Profile', profileView, true],
  account: ['Account', accountView, true],
};

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let cleanup = null;
let notice = null; // shown once on the next login page (why the session ended)
let firstRender = true;

function currentRoute() {
  const [name = '', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return {name, param: decodeURIComponent(rest.join('/'))};
}

export function navigate(path) {
  if (location.hash === `#/${path}`) render();
  else location.hash = `#/${path}`;
}

function render() {
  const route = currentRoute();
  const signedIn = Boolean(session());
  let {name, param} = route;
  if (!ROUTES[name] || ROUTES[name][2] !== signedIn) {
    name = signedIn ? 'feed' : 'login';
    param = '';
    history.replaceState(null, '', `#/${name}`);
  }
  const [title, view] = ROUTES[name];

  cleanup?.();
  cleanup = null;
  nav.hidden = !signedIn;
  for (const a of nav.querySelectorAll('a')) {
    const here = a.getAttribute('href') === `#/${name}` || (name === 'user' && a.getAttribute('href') === '#/lookup');
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${title} · Caddy Social`;
  replace(main);
  cleanup = view(main, {navigate, param, notice}) ?? null;
  notice = null;

  // Move focus to the new page's heading so keyboard and screen-reader users
  // start there; not on first load, where the browser's own order applies.
  const heading = main.querySelector('h1');
  if (heading && !firstRender) {
    heading.tabIndex = -1;
    heading.focus();
  }
  firstRender = false;
}

onSessionChange((s, reason) => {
  if (!s) {
    notice = reason ?? null;
    if (reason) announce(reason);
    navigate('login');
  } else {
    navigate('feed');
  }
});

document.getElementById('logout').addEventListener('click', () => endSession('You have logged out.'));
window.addEventListener('hashchange', render);

restoreSession();
render();
performance.mark('app-ready');
