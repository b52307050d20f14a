// The client's Server-Sent Events parser, fed the way a network delivers:
// in arbitrary pieces.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {sseParser} from '../../web/js/sse.js';

function parse(chunks) {
  const events = [];
  const push = sseParser((e) => events.push(e));
  chunks.forEach(push);
  return events;
}

const stream = ': heartbeat\n\nevent: post\nid: 7\ndata: {"content":"a"}\n\n'
  + 'data: line one\ndata: line two\n\n'
  + 'event: post\r\nid: 8\r\ndata:no space\r\n\r\n';

const want = [
  {event: 'post', data: '{"content":"a"}', id: '7'},
  {event: 'message', data: 'line one\nline two', id: '7'},
  {event: 'post', data: 'no space', id: '8'},
];

test('whole stream', () => {
  assert.deepEqual(parse([stream]), want);
});

test('every split point gives the same events', () => {
  for (let i = 0; i <= stream.length; i++) {
    assert.deepEqual(parse([stream.slice(0, i), stream.slice(i)]), want, `split at ${i}`);
  }
});

test('one character at a time', () => {
  assert.deepEqual(parse([...stream]), want);
});

test('comments and events without data dispatch nothing', () => {
  assert.deepEqual(parse([': ping\n\nevent: post\nid: 3\n\n']), []);
});

test('an unfinished event waits for its blank line', () => {
  assert.deepEqual(parse(['event: post\ndata: x\n']), []);
});

test('an id with NUL is ignored', () => {
  assert.deepEqual(parse(['id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n']).map((e) => e.id), ['1', '1']);
});
