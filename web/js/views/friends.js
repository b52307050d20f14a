// My friends with their usernames; add by user id; remove.
import {api, list, UUID_RE} from '../api.js';
import {NOT_AN_ID} from '../errors.js';
import {busy, field, h, messageArea, replace} from '../dom.js';
import {session} from '../session.js';
import {failure, myIdBlock} from './shared.js';

// Usernames are fetched per friend; this many at a time.
const LOOKUP_CONCURRENCY = 6;

export function friendsView(root) {
  const msg = messageArea();
  const listMsg = messageArea();
  const friendId = field('Friend’s user id', {name: 'friend', class: 'mono', autocomplete: 'off', spellcheck: 'false',
    hint: 'Ask your friend for their id: it is on their Friends page.'});
  const listBox = h('div', {id: 'friends-list', 'aria-live': 'polite'});

  const form = h('form', {novalidate: true, 'aria-label': 'Add a friend', onsubmit: async (e) => {
    e.preventDefault();
    msg.clear();
    const id = friendId.input.value.trim();
    if (!UUID_RE.test(id)) {
      msg.error(NOT_AN_ID);
      friendId.input.focus();
      return;
    }
    if (id.toLowerCase() === session()?.userId?.toLowerCase()) {
      msg.error('That is your own id. Enter the id of someone else.');
      return;
    }
    await busy(form, async () => {
      try {
        await api('POST', '/api/friends', {body: {friend_uuid: id}});
        friendId.input.value = '';
        const name = await username(id);
        msg.ok(`${name ?? 'They'} ${name ? 'is' : 'are'} now among your friends.`);
        await load();
      } catch (err) {
        msg.error(failure('friendAdd', err));
      }
    });
    if (form.isConnected) friendId.input.focus();
  }}, friendId.wrap, msg.el, h('button', {type: 'submit'}, 'Add friend'));

  async function load() {
    let ids;
    try {
      ids = list(await api('GET', '/api/friends'));
    } catch (err) {
      listMsg.error(failure('friends', err));
      return;
    }
    listMsg.clear();
    if (!ids.length) {
      replace(listBox, h('p', {class: 'empty'}, 'No friends yet. Add one with their user id above.'));
      return;
    }
    const names = await mapLimit(ids, LOOKUP_CONCURRENCY, username);
    replace(listBox, h('ul', {class: 'friends', 'aria-label': 'My friends'}, ids.map((id, i) => {
      const label = names[i] ?? 'No profile yet';
      return h('li', null,
        h('a', {href: `#/user/${encodeURIComponent(id)}`}, label),
        h('span', {class: 'mono small'}, id),
        h('button', {type: 'button', class: 'secondary', 'aria-label': `Remove ${label}`, onclick: (e) => remove(e.currentTarget, id, label)}, 'Remove'));
    })));
  }

  async function remove(button, id, label) {
    msg.clear();
    button.disabled = true;
    try {
      await api('DELETE', '/api/friends', {body: {friend_uuid: id}});
      msg.ok(`Removed ${label} from your friends.`);
      await load();
      form.querySelector('input')?.focus();
    } catch (err) {
      button.disabled = false;
      msg.error(failure('friendRemove', err));
    }
  }

  root.append(
    h('section', {class: 'card'}, h('h1', null, 'Friends'), myIdBlock(), form),
    h('section', {class: 'card'}, h('h2', null, 'My friends'), listMsg.el, listBox));
  load();
}

/** A user's username, or null when they have no profile or it cannot be read. */
async function username(id) {
  try {
    return (await api('GET', `/api/profile/${encodeURIComponent(id)}`))?.username || null;
  } catch {
    return null;
  }
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  return out;
}
