// API errors in words a user understands. Each view names what it was
// doing; the status (and for a few cases the server's message) picks the words.

/** "42 seconds", "3 minutes", "1 hour 5 minutes". */
export function duration(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return plural(s, 'second');
  const m = Math.ceil(s / 60);
  if (m < 60) return plural(m, 'minute');
  const hours = Math.floor(m / 60);
  const rest = m % 60;
  return rest ? `${plural(hours, 'hour')} ${plural(rest, 'minute')}` : plural(hours, 'hour');
}

/** For an id that is not a UUID, checked before asking the server. */
export const NOT_AN_ID = 'That is not a user id. An id looks like 1b4e28ba-2fa1-11d2-883f-0016d3cca427.';

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function waitText(err) {
  return err.retryAfter != null ? ` Please try again in ${duration(err.retryAfter)}.` : ' Please try again later.';
}

// What went wrong for the common statuses, whatever the action.
function generic(err) {
  switch (true) {
    case err.status === 0 && err.serverMessage === 'timeout':
      return 'The server took too long to answer. Please try again.';
    case err.status === 0:
      return 'Cannot reach the server. Check your connection and try again.';
    case err.status === 401:
      return 'Your session has ended. Please log in again.';
    case err.status === 413:
      return 'That is too long for the server to accept.';
    case err.status === 429:
      return `You are doing that too often.${waitText(err)}`;
    case err.status === 502 || err.status === 503:
      return 'The service is temporarily unavailable. Please try again in a moment.';
    case err.status === 504:
      return 'The service took too long to answer. Please try again.';
    case err.status >= 500:
      return 'Something went wrong on the server. Please try again.';
    default:
      return null;
  }
}

// Per action: status -> words (a function gets the error).
const ACTIONS = {
  login: {
    400: 'Please enter your email address and password.',
    401: 'That email and password do not match an account. Check both and try again.',
    429: (err) => (/fail/i.test(err.serverMessage)
      ? `Too many wrong passwords for this account. To protect it, logging in is paused.${waitText(err)}`
      : `This account has already logged in 10 times in the last hour, the most allowed.${waitText(err)}`),
  },
  register: {
    400: (err) => (/password/i.test(err.serverMessage)
      ? 'The password must be 8 to 128 characters long.'
      : /email/i.test(err.serverMessage) ? 'That does not look like a valid email address.'
        : 'Please enter an email address and a password.'),
    409: 'An account with this email already exists. Log in instead.',
  },
  profileLoad: {404: 'You have not created your profile yet.'},
  profileSave: {
    400: (err) => (/required/i.test(err.serverMessage)
      ? 'Please choose a username.'
      : 'The username can be at most 64 characters and the bio at most 1000.'),
  },
  friends: {409: 'Create your profile first: friends are kept with your profile.'},
  friendAdd: {
    400: (err) => (/yourself/i.test(err.serverMessage)
      ? 'That is your own id. Enter the id of someone else.'
      : NOT_AN_ID),
    404: 'No user with that id has a profile yet.',
    409: 'Create your profile first: friends are kept with your profile.',
  },
  friendRemove: {400: 'That is not a valid user id.'},
  post: {
    400: (err) => (/at most/i.test(err.serverMessage)
      ? 'That post is too long: at most 5000 characters.'
      : 'Write something first: a post cannot be empty.'),
  },
  lookup: {
    400: NOT_AN_ID,
    404: 'No user with that id has a profile.',
  },
  feed: {},
  deleteAccount: {
    400: 'Please enter your password.',
    401: (err) => (err.invalidToken ? 'Your session has ended. Please log in again.' : 'That password is not correct.'),
    404: 'Deleting an account is not available on this server yet.',
    405: 'Deleting an account is not available on this server yet.',
  },
};

/** The words for err during action (a key of ACTIONS). */
export function explain(action, err) {
  if (!(err && typeof err.status === 'number')) return 'Something went wrong. Please try again.';
  const entry = ACTIONS[action]?.[err.status];
  if (typeof entry === 'function') return entry(err);
  if (entry) return entry;
  return generic(err) ?? `The request failed (error ${err.status}). Please try again.`;
}
