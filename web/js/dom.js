// Elements are built from data, never parsed from HTML strings: whatever a
// user typed (a username, a post) can only ever become a text node. The CSP
// also requires Trusted Types, so an accidental HTML-string sink would throw.

/**
 * h('p', {class: 'x', onclick: fn}, 'text', child) creates an element.
 * Attributes are set with setAttribute; on* keys become event listeners;
 * children are nodes, strings (text nodes), arrays, or null (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let fieldSeq = 0;

/**
 * A labelled form field. Returns {wrap, input}; the input is described by its
 * hint, so a screen reader reads the rules along with the label.
 */
export function field(label, {type = 'text', name, hint, multiline = false, ...attrs} = {}) {
  const id = `f${++fieldSeq}`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h(multiline ? 'textarea' : 'input', {id, name, type: multiline ? null : type, 'aria-describedby': hintId, ...attrs});
  const wrap = h('div', {class: 'field'},
    h('label', {for: id}, label),
    input,
    hint ? h('p', {id: hintId, class: 'hint'}, hint) : null);
  return {wrap, input};
}

/**
 * A message area shown in place next to a form. show() and clear() keep the
 * element in the DOM, so assistive technology announces new text.
 */
export function messageArea() {
  const el = h('div', {class: 'message', role: 'alert', hidden: true});
  return {
    el,
    error(text) { setMessage(el, 'error', text); },
    ok(text) { setMessage(el, 'ok', text); },
    clear() { el.hidden = true; el.textContent = ''; },
  };
}

function setMessage(el, kind, text) {
  el.className = `message ${kind}`;
  el.textContent = text;
  el.hidden = false;
}

/** Polite announcement for screen readers (live region in index.html). */
export function announce(text) {
  const live = document.getElementById('announcer');
  live.textContent = '';
  // A new text node in a fresh task is announced even when it repeats.
  setTimeout(() => { live.textContent = text; }, 50);
}

/** Disables a form's controls while fn runs, so a double click sends once. */
export async function busy(form, fn) {
  const controls = [...form.querySelectorAll('button, input, textarea')];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    controls.forEach((c, i) => { c.disabled = was[i]; });
    form.removeAttribute('aria-busy');
  }
}

/** "3 minutes ago"-style time with the exact time in a <time> element. */
export function timeEl(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', null, String(iso ?? ''));
  return h('time', {datetime: d.toISOString(), title: d.toLocaleString()}, relative(d));
}

const rtf = new Intl.RelativeTimeFormat(undefined, {numeric: 'auto'});

function relative(d) {
  const s = Math.round((d.getTime() - Date.now()) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 7 * 86400) return rtf.format(Math.round(s / 86400), 'day');
  return d.toLocaleDateString();
}
