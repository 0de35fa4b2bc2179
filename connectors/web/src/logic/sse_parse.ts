// The Server-Sent Events wire format: blocks separated by a blank line.
export interface SseEvent {
  id: string;
  event: string;
  data: string;
  retry?: number;
}

export function parseSse(buf: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const text = buf.replace(/\r\n?/g, '\n');
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n\n', start);
    if (end < 0) break;
    const block = text.slice(start, end);
    start = end + 2;
    const ev: SseEvent = { id: '', event: 'message', data: '' };
    const data: string[] = [];
    let any = false;
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      any = true;
      if (field === 'data') data.push(value);
      else if (field === 'id') ev.id = value;
      else if (field === 'event') ev.event = value;
      else if (field === 'retry' && /^\d+$/.test(value)) ev.retry = Number(value);
    }
    if (!any) continue;
    ev.data = data.join('\n');
    events.push(ev);
  }
  return { events, rest: text.slice(start) };
}
