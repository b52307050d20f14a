// Log in and create an account.
import {api} from '../api.js';
import {explain} from '../errors.js';
import {busy, field, h, messageArea} from '../dom.js';
import {startSession} from '../session.js';

export function loginView(root, {notice}) {
  const msg = messageArea();
  const email = field('Email', {type: 'email', name: 'email', autocomplete: 'username', required: true});
  const password = field('Password', {type: 'password', name: 'password', autocomplete: 'current-password', required: true});
  const form = h('form', {novalidate: true, 'aria-labelledby': 'login-title', 'aria-describedby': 'login-limits', onsubmit: async (e) => {
    e.preventDefault();
    msg.clear();
    if (!email.input.value.trim() || !password.input.value) {
      msg.error('Please enter your email address and password.');
      return;
    }
    await busy(form, async () => {
      try {
        const tok = await api('POST', '/api/auth/login', {auth: false, body: {email: email.input.value, password: password.input.value}});
        startSession(email.input.value.trim().toLowerCase(), tok);
      } catch (err) {
        msg.error(explain('login', err));
        password.input.value = '';
      }
    });
    if (!form.isConnected) return;
    password.input.focus();
  }},
  email.wrap, password.wrap, msg.el,
  h('button', {type: 'submit'}, 'Log in'));

  // The gateway's limits, said before they bite; a 429 says how long to wait.
  const info = h('p', {class: 'hint limits', id: 'login-limits'},
    'To keep accounts safe, each account can log in at most 10 times an hour, and after several wrong ',
    'passwords logging in to it pauses for a while. If that happens, this page tells you how long to wait.');

  root.append(h('section', {class: 'card narrow'},
    h('h1', {id: 'login-title'}, 'Log in'),
    notice ? h('p', {class: 'message ok', role: 'status'}, notice) : null,
    form,
    info,
    h('p', null, 'New here? ', h('a', {href: '#/register'}, 'Create an account'), '.')));
}

export function registerView(root) {
  const msg = messageArea();
  const email = field('Email', {type: 'email', name: 'email', autocomplete: 'username', required: true});
  const password = field('Password', {type: 'password', name: 'new-password', autocomplete: 'new-password', required: true,
    minlength: 8, maxlength: 128, hint: '8 to 128 characters.'});
  const form = h('form', {novalidate: true, 'aria-labelledby': 'register-title', onsubmit: async (e) => {
    e.preventDefault();
    msg.clear();
    const pw = password.input.value;
    if (!email.input.value.trim()) { msg.error('Please enter your email address.'); email.input.focus(); return; }
    if (pw.length < 8 || pw.length > 128) { msg.error('The password must be 8 to 128 characters long.'); password.input.focus(); return; }
    await busy(form, async () => {
      try {
        await api('POST', '/api/auth/register', {auth: false, body: {email: email.input.value, password: pw}});
        // Log straight in: the person just proved they know the password.
        const tok = await api('POST', '/api/auth/login', {auth: false, body: {email: email.input.value, password: pw}});
        startSession(email.input.value.trim().toLowerCase(), tok);
      } catch (err) {
        msg.error(explain(err.status === 409 || err.status === 400 ? 'register' : 'login', err));
      }
    });
  }},
  email.wrap, password.wrap, msg.el,
  h('button', {type: 'submit'}, 'Create account'));

  root.append(h('section', {class: 'card narrow'},
    h('h1', {id: 'register-title'}, 'Create an account'),
    form,
    h('p', null, 'Already have an account? ', h('a', {href: '#/login'}, 'Log in'), '.')));
}
