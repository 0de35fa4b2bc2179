import { describe, expect, it } from 'vitest';
import { parseSse } from './sse_parse';

describe('SSE parsing', () => {
  it('splits blocks, keeps the unfinished rest, skips comments', () => {
    const { events, rest } = parseSse('retry: 3000\n\n: ping\n\nid: 7\nevent: case_event\ndata: {"case_id":"r-1"}\n\nid: 8\nevent: case');
    expect(events).toEqual([
      { id: '', event: 'message', data: '', retry: 3000 },
      { id: '7', event: 'case_event', data: '{"case_id":"r-1"}' },
    ]);
    expect(rest).toBe('id: 8\nevent: case');
  });
});
