// Look up a user by id: their profile and posts (also #/user/<id>).
import {api, list, UUID_RE} from '../api.js';
import {NOT_AN_ID} from '../errors.js';
import {busy, field, h, messageArea, replace} from '../dom.js';
import {session} from '../session.js';
import {failure, postList} from './shared.js';

export function lookupView(root, {param, navigate}) {
  const msg = messageArea();
  const userId = field('User id', {name: 'user', class: 'mono', autocomplete: 'off', spellcheck: 'false', value: param || null});
  const result = h('div', {id: 'lookup-result'});

  const form = h('form', {novalidate: true, 'aria-label': 'Find a user by id', onsubmit: (e) => {
    e.preventDefault();
    const id = userId.input.value.trim();
    if (!UUID_RE.test(id)) {
      msg.error(NOT_AN_ID);
      userId.input.focus();
      return;
    }
    navigate(`user/${id}`);
  }}, userId.wrap, msg.el, h('button', {type: 'submit'}, 'Show'));

  async function show(id) {
    msg.clear();
    await busy(form, async () => {
      const [profile, posts] = await Promise.allSettled([
        api('GET', `/api/profile/${encodeURIComponent(id)}`),
        api('GET', `/api/posts/${encodeURIComponent(id)}`),
      ]);
      if (profile.status === 'rejected') {
        replace(result);
        msg.error(failure('lookup', profile.reason));
        return;
      }
      const p = profile.value ?? {};
      const mine = id.toLowerCase() === session()?.userId?.toLowerCase();
      const addMsg = messageArea();
      const add = mine ? null : h('button', {type: 'button', class: 'secondary', onclick: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try {
          await api('POST', '/api/friends', {body: {friend_uuid: id}});
          addMsg.ok(`${p.username} is now among your friends.`);
        } catch (err) {
          b.disabled = false;
          addMsg.error(failure('friendAdd', err));
        }
      }}, 'Add as friend');
      replace(result,
        h('section', {class: 'card', 'aria-labelledby': 'lookup-name'},
          h('h2', {id: 'lookup-name'}, p.username ?? ''),
          p.bio ? h('p', {class: 'bio'}, p.bio) : h('p', {class: 'empty'}, 'No bio.'),
          h('p', {class: 'mono small'}, id),
          add, addMsg.el,
          h('h3', null, 'Posts'),
          posts.status === 'fulfilled'
            ? postList(list(posts.value), {label: `Posts by ${p.username}, newest first`, empty: 'No posts yet.'})
            : h('p', {class: 'message error', role: 'alert'}, failure('feed', posts.reason))));
    });
  }

  root.append(h('section', {class: 'card'}, h('h1', null, 'Find a user'), form), result);
  if (param) show(param);
}
