// The feed: friends' newest posts, kept up to date while the page is open.
import {announce, h, messageArea, replace} from '../dom.js';
import {liveFeed} from '../feed.js';
import {failure, postList} from './shared.js';

export function feedView(root) {
  const msg = messageArea();
  const status = h('p', {class: 'hint', id: 'feed-mode'}, 'Loading your feed…');
  const listBox = h('div', {id: 'feed-list', 'aria-busy': 'true'});
  let seen = null;

  root.append(h('section', {class: 'card'},
    h('div', {class: 'row between'},
      h('h1', null, 'Feed'),
      h('button', {type: 'button', class: 'secondary', id: 'feed-refresh', onclick: () => { stop(); start(); }}, 'Refresh')),
    status, msg.el, listBox));

  let stop = () => {};
  function start() {
    stop = liveFeed({
      onUpdate(items, {mode}) {
        msg.clear();
        listBox.removeAttribute('aria-busy');
        status.textContent = mode === 'live'
          ? 'Live: new posts from your friends appear here as they are written.'
          : 'New posts from your friends appear here within a few seconds.';
        const keys = new Set(items.map(key));
        const fresh = seen ? items.filter((p) => !seen.has(key(p))).length : 0;
        seen = keys;
        replace(listBox, postList(items, {
          label: 'Posts from your friends, newest first',
          empty: 'No posts yet. Add friends to see what they write.',
          showAuthor: true,
        }));
        if (fresh) announce(`${fresh} new ${fresh === 1 ? 'post' : 'posts'} in your feed.`);
      },
      onError(err) {
        listBox.removeAttribute('aria-busy');
        msg.error(failure('feed', err));
      },
    });
  }
  start();
  return () => stop();
}

const key = (p) => `${p.author_uuid}|${p.timestamp}|${p.content}`;
