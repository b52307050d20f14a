// A parser for the text/event-stream format (HTML standard, "Server-sent
// events"): fields per line, a blank line ends an event, lines starting with
// ":" are comments (heartbeats). Hand-written because EventSource cannot send
// an Authorization header, and a library for it would outweigh these lines.

/**
 * Returns push(chunk): feed it decoded text as it arrives, in pieces of any
 * size; onEvent({event, data, id}) runs for each complete event that has data.
 * id is the last event id seen so far (it carries over, as the standard says).
 */
export function sseParser(onEvent) {
  let buf = '';
  let pendingCR = false;
  let event = '';
  let data = [];
  let id = null;

  function line(l) {
    if (l === '') {
      if (data.length) onEvent({event: event || 'message', data: data.join('\n'), id});
      event = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const name = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id' && !value.includes('\0')) id = value;
  }

  return (chunk) => {
    // A CR at the end of one chunk and an LF at the start of the next are one line end.
    if (pendingCR && chunk.startsWith('\n')) chunk = chunk.slice(1);
    buf += chunk;
    pendingCR = buf.endsWith('\r');
    const lines = buf.split(/\r\n|\r|\n/);
    buf = lines.pop();
    lines.forEach(line);
  };
}
