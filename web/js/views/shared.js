// Pieces several views use.
import {explain} from '../errors.js';
import {h, timeEl} from '../dom.js';
import {endSession, session} from '../session.js';

/**
 * The words for err; an expired or revoked token (401 invalid_token) ends
 * the session instead, and the login page says why.
 */
export function failure(action, err) {
  if (err?.status === 401 && (err.invalidToken || action !== 'deleteAccount')) {
    endSession('Your session has ended. Please log in again.');
  }
  return explain(action, err);
}

/** A list of posts; items have content, timestamp and maybe username/author_uuid. */
export function postList(items, {label, empty, showAuthor = false}) {
  if (!items.length) return h('p', {class: 'empty'}, empty);
  return h('ol', {class: 'posts', 'aria-label': label},
    items.map((p) => h('li', null,
      h('article', {class: 'post'},
        showAuthor ? h('p', {class: 'author'},
          h('a', {href: `#/user/${encodeURIComponent(p.author_uuid ?? '')}`}, p.username || 'Someone')) : null,
        h('p', {class: 'content'}, p.content ?? ''),
        h('p', {class: 'meta'}, timeEl(p.timestamp))))));
}

/** My user id, selectable, with a button that copies it. */
export function myIdBlock() {
  const id = session()?.userId ?? '';
  const status = h('span', {class: 'copied', role: 'status'});
  const input = h('input', {id: 'my-id', class: 'mono', readonly: true, value: id, 'aria-describedby': 'my-id-hint'});
  const copy = h('button', {type: 'button', class: 'secondary', onclick: async () => {
    try {
      await navigator.clipboard.writeText(id);
      status.textContent = 'Copied.';
    } catch {
      input.select();
      status.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy.';
    }
  }}, 'Copy my id');
  return h('div', {class: 'field my-id'},
    h('label', {for: 'my-id'}, 'My user id'),
    h('div', {class: 'row'}, input, copy),
    h('p', {id: 'my-id-hint', class: 'hint'}, 'Share it: others add you as a friend with this id. ', status));
}
