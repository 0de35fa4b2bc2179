// GET /v1/stream read with fetch (EventSource cannot send the Authorization header):
// Server-Sent Events parsed by hand, reconnecting with Last-Event-ID.
import { parseSse } from './logic/sse_parse';

export interface StreamHandle {
  close(): void;
}

export function openStream(
  token: string,
  onEvent: (data: string, id: string) => void,
  onState: (live: boolean) => void,
  onForbidden: () => void = () => {},
): StreamHandle {
  let closed = false;
  let lastId = '';
  let ctrl: AbortController | null = null;
  let retry = 3000;
  const run = async () => {
    while (!closed) {
      ctrl = new AbortController();
      try {
        const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const res = await fetch('/v1/stream', { headers, signal: ctrl.signal, cache: 'no-store' });
        if (res.status === 401 || res.status === 403) {
          // Grid staff may not use the stream: the caller polls instead.
          onState(false);
          onForbidden();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          const { events, rest } = parseSse(buf);
          buf = rest;
          for (const ev of events) {
            if (ev.retry) retry = ev.retry;
            if (ev.id) lastId = ev.id;
            if (ev.event === 'case_event' && ev.data) onEvent(ev.data, ev.id);
          }
        }
      } catch {
        /* reconnect below */
      }
      if (closed) return;
      onState(false);
      await new Promise((r) => setTimeout(r, retry));
    }
  };
  void run();
  return {
    close() {
      closed = true;
      ctrl?.abort();
    },
  };
}
