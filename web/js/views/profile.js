// Create or edit my profile.
import {api} from '../api.js';
import {busy, field, h, messageArea} from '../dom.js';
import {failure, myIdBlock} from './shared.js';

export function profileView(root) {
  const msg = messageArea();
  const intro = h('p', {class: 'hint'}, 'Loading your profile…');
  const username = field('Username', {name: 'username', maxlength: 64, required: true, autocomplete: 'nickname',
    hint: 'Shown to your friends with your posts. Up to 64 characters.'});
  const bio = field('Bio', {name: 'bio', multiline: true, rows: 3, maxlength: 1000, hint: 'Optional, up to 1000 characters.'});
  const submit = h('button', {type: 'submit'}, 'Save profile');
  const form = h('form', {novalidate: true, 'aria-label': 'My profile', onsubmit: async (e) => {
    e.preventDefault();
    msg.clear();
    if (!username.input.value.trim()) { msg.error('Please choose a username.'); username.input.focus(); return; }
    await busy(form, async () => {
      try {
        const p = await api('POST', '/api/profile/me', {body: {username: username.input.value, bio: bio.input.value}});
        username.input.value = p?.username ?? username.input.value;
        bio.input.value = p?.bio ?? bio.input.value;
        intro.textContent = 'This is how others see you.';
        submit.textContent = 'Save profile';
        msg.ok('Profile saved.');
      } catch (err) {
        msg.error(failure('profileSave', err));
      }
    });
  }}, username.wrap, bio.wrap, msg.el, submit);

  root.append(h('section', {class: 'card'}, h('h1', null, 'Profile'), intro, form, myIdBlock()));

  (async () => {
    try {
      const p = await api('GET', '/api/profile/me');
      username.input.value = p?.username ?? '';
      bio.input.value = p?.bio ?? '';
      intro.textContent = 'This is how others see you.';
    } catch (err) {
      if (err.status === 404) {
        intro.textContent = 'You have no profile yet. Choose a username to create one: friends see it with your posts.';
        submit.textContent = 'Create profile';
      } else {
        intro.textContent = '';
        msg.error(failure('profileLoad', err));
      }
    }
  })();
}
