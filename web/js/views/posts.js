// Write a post; my posts, newest first.
import {api, list} from '../api.js';
import {busy, field, h, messageArea, replace} from '../dom.js';
import {failure, postList} from './shared.js';

const MAX = 5000;

export function postsView(root) {
  const msg = messageArea();
  const listMsg = messageArea();
  const content = field('What is on your mind?', {name: 'content', multiline: true, rows: 4, maxlength: MAX, required: true,
    hint: `Up to ${MAX} characters.`});
  const listBox = h('div', {id: 'my-posts'});
  const form = h('form', {novalidate: true, 'aria-label': 'Write a post', onsubmit: async (e) => {
    e.preventDefault();
    msg.clear();
    const text = content.input.value;
    if (!text.trim()) { msg.error('Write something first: a post cannot be empty.'); content.input.focus(); return; }
    await busy(form, async () => {
      try {
        await api('POST', '/api/posts', {body: {content: text}});
        content.input.value = '';
        msg.ok('Posted.');
        await load();
      } catch (err) {
        msg.error(failure('post', err));
      }
    });
    if (form.isConnected) content.input.focus();
  }}, content.wrap, msg.el, h('button', {type: 'submit'}, 'Post'));

  async function load() {
    try {
      const posts = list(await api('GET', '/api/posts'));
      listMsg.clear();
      replace(listBox, postList(posts, {label: 'My posts, newest first', empty: 'You have not posted anything yet.'}));
    } catch (err) {
      listMsg.error(failure('feed', err));
    }
  }

  root.append(
    h('section', {class: 'card'}, h('h1', null, 'My posts'), form),
    h('section', {class: 'card'}, h('h2', null, 'Posted so far'), listMsg.el, listBox));
  load();
}
