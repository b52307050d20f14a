// My account: who I am, and deleting the account.
import {api} from '../api.js';
import {busy, field, h, messageArea} from '../dom.js';
import {endSession, session} from '../session.js';
import {failure, myIdBlock} from './shared.js';

export function accountView(root) {
  const msg = messageArea();
  const password = field('Password', {type: 'password', name: 'password', autocomplete: 'current-password', required: true,
    hint: 'To confirm that it is you.'});
  const confirm = h('input', {type: 'checkbox', id: 'delete-confirm', name: 'confirm'});
  const form = h('form', {novalidate: true, 'aria-labelledby': 'delete-title', onsubmit: async (e) => {
    e.preventDefault();
    msg.clear();
    if (!password.input.value) { msg.error('Please enter your password.'); password.input.focus(); return; }
    if (!confirm.checked) { msg.error('Please tick the box to confirm that you want to delete your account.'); confirm.focus(); return; }
    await busy(form, async () => {
      try {
        await api('DELETE', '/api/account', {body: {password: password.input.value}});
        endSession('Your account has been deleted.');
      } catch (err) {
        password.input.value = '';
        msg.error(failure('deleteAccount', err));
      }
    });
  }},
  password.wrap,
  h('div', {class: 'check'}, confirm, h('label', {for: 'delete-confirm'}, 'I understand that my profile, friends and posts will be deleted for good.')),
  msg.el,
  h('button', {type: 'submit', class: 'danger'}, 'Delete my account'));

  root.append(
    h('section', {class: 'card'},
      h('h1', null, 'Account'),
      h('p', null, 'Logged in as ', h('strong', null, session()?.email ?? ''), '.'),
      myIdBlock(),
      h('button', {type: 'button', class: 'secondary', onclick: () => endSession('You have logged out.')}, 'Log out')),
    h('section', {class: 'card'}, h('h2', {id: 'delete-title'}, 'Delete my account'), form));
}
