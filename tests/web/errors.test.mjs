// API errors in user words, and the waits they quote.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {ApiError, parseRetryAfter} from '../../web/js/api.js';
import {duration, explain} from '../../web/js/errors.js';

test('durations', () => {
  assert.equal(duration(1), '1 second');
  assert.equal(duration(42), '42 seconds');
  assert.equal(duration(60), '1 minute');
  assert.equal(duration(61), '2 minutes');
  assert.equal(duration(3600), '1 hour');
  assert.equal(duration(3601), '1 hour 1 minute');
  assert.equal(duration(0), '1 second');
});

test('Retry-After as seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('120'), 120);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter('soon'), null);
  const inAMinute = new Date(Date.now() + 60_000).toUTCString();
  assert.ok(Math.abs(parseRetryAfter(inAMinute) - 60) <= 1);
});

test('login limits name the wait', () => {
  const tokens = new ApiError(429, 'token limit reached', {retryAfter: 1500});
  assert.equal(explain('login', tokens),
    'This account has already logged in 10 times in the last hour, the most allowed. Please try again in 25 minutes.');
  const failures = new ApiError(429, 'too many failed login attempts', {retryAfter: 30});
  assert.match(explain('login', failures), /^Too many wrong passwords.*try again in 30 seconds\.$/);
});

test('each action has its own words, then the common ones', () => {
  assert.match(explain('login', new ApiError(401, 'invalid email or password')), /do not match/);
  assert.match(explain('register', new ApiError(409, 'email already registered')), /already exists/);
  assert.match(explain('register', new ApiError(400, 'password must be 8 to 128 characters')), /8 to 128/);
  assert.match(explain('friendAdd', new ApiError(400, 'you cannot add yourself as a friend')), /your own id/);
  assert.match(explain('friendAdd', new ApiError(404, 'friend not found')), /No user with that id/);
  assert.match(explain('deleteAccount', new ApiError(404, 'Not Found')), /not available/);
  assert.match(explain('deleteAccount', new ApiError(401, 'wrong password')), /password is not correct/);
  assert.match(explain('deleteAccount', new ApiError(401, '', {invalidToken: true})), /session has ended/);
  assert.match(explain('post', new ApiError(503, 'database unavailable')), /temporarily unavailable/);
  assert.match(explain('feed', new ApiError(0, 'network')), /Cannot reach the server/);
  assert.match(explain('feed', new ApiError(429, '', {retryAfter: 5})), /too often.*5 seconds/);
  assert.match(explain('post', new ApiError(418, '')), /error 418/);
});

test('no message shows a raw server error or status text alone', () => {
  for (const action of ['login', 'register', 'profileSave', 'friendAdd', 'post', 'lookup', 'feed', 'deleteAccount']) {
    for (const status of [0, 400, 401, 404, 409, 413, 429, 500, 502, 503, 504]) {
      const words = explain(action, new ApiError(status, 'raw server text'));
      assert.ok(!words.includes('raw server text'), `${action} ${status}: ${words}`);
      assert.match(words, /^[A-Z].*\.$/, `${action} ${status}: ${words}`);
    }
  }
});
