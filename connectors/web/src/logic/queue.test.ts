import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import {
  applyResults, batchBody, enqueue, newReportId, openQueueStore, refuseAll, retryDelayMs, syncOnce, toSend,
  type QueuedReport,
} from './queue';

const report = { grid: 'jjbl-c1-g01', category: 'road', severity: 3, title: '道路塌方' };

describe('offline queue', () => {
  it('gives each report its own id at once', () => {
    const id = newReportId(new Date('2026-11-29T10:00:00Z'), () => new Uint8Array([1, 2, 3, 4, 5, 255]));
    expect(id).toBe('r-20261129-0102030405ff');
    const a = enqueue(report);
    const b = enqueue(report);
    expect(a.report_id).not.toBe(b.report_id);
    expect(a.status).toBe('queued');
  });

  it('sends queued and interrupted ones, oldest first, one JSON line each with its report_id', () => {
    const items: QueuedReport[] = [
      { ...enqueue(report, new Date('2026-01-02T00:00:00Z'), 'r-2'), status: 'sending' },
      enqueue(report, new Date('2026-01-01T00:00:00Z'), 'r-1'),
      { ...enqueue(report, new Date('2026-01-03T00:00:00Z'), 'r-3'), status: 'sent' },
      { ...enqueue(report, new Date('2026-01-04T00:00:00Z'), 'r-4'), status: 'refused' },
    ];
    const send = toSend(items);
    expect(send.map((r) => r.report_id)).toEqual(['r-1', 'r-2']);
    const lines = batchBody(send).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ report_id: 'r-1', grid: 'jjbl-c1-g01', title: '道路塌方', occurred_at: '2026-01-01T00:00:00.000Z' });
    expect(lines[1].report_id).toBe('r-2');
  });

  it('marks each line sent, refused with the reason, or queued again', () => {
    const sent = ['a', 'b', 'c', 'd'].map((id) => enqueue(report, new Date(), id));
    const out = applyResults(sent, [
      { line: 1, status: 202, case_id: 'a' },
      { line: 2, status: 400, error: { code: 'validation_failed', message: '上报内容有误', fields: [{ field: 'report.severity', message: '紧急程度必须是 1 到 5 的整数' }] } },
      { line: 3, status: 503, error: { code: 'intake_unavailable', message: '暂时无法保存上报' } },
    ]);
    expect(out.map((r) => r.status)).toEqual(['sent', 'refused', 'queued', 'queued']);
    expect(out[0].case_id).toBe('a');
    expect(out[1].reason).toBe('上报内容有误');
    expect(out[1].reason_fields).toEqual(['紧急程度必须是 1 到 5 的整数']);
    expect(out.every((r) => r.attempts === 1)).toBe(true);
  });

  it('a refused request keeps reports only when a retry can help', () => {
    const sent = [enqueue(report)];
    expect(refuseAll(sent, 401, 'x')[0].status).toBe('queued');
    expect(refuseAll(sent, 503, 'x')[0].status).toBe('queued');
    expect(refuseAll(sent, 403, 'x')[0].status).toBe('refused');
    expect(retryDelayMs(0)).toBe(2000);
    expect(retryDelayMs(10)).toBe(60000);
  });

  it('survives a lost answer: the retry sends the same report_ids, nothing twice', async () => {
    const store = openQueueStore(new IDBFactory());
    await store.put([enqueue(report, new Date('2026-01-01T00:00:00Z'), 'r-1'), enqueue(report, new Date('2026-01-02T00:00:00Z'), 'r-2')]);
    const bodies: string[] = [];
    // First round: the network drops after the request (the server may have stored it).
    let r = await syncOnce(store, async (body) => {
      bodies.push(body);
      throw new Error('network down');
    });
    expect(r.failed).toBe(true);
    expect(r.items.map((i) => i.status)).toEqual(['queued', 'queued']);
    // Second round: the server answers (idempotent by report_id).
    r = await syncOnce(store, async (body) => {
      bodies.push(body);
      return { status: 200, body: { accepted: 2, rejected: 0, results: [{ line: 1, status: 202, case_id: 'r-1' }, { line: 2, status: 202, case_id: 'r-2' }] } };
    });
    expect(r.failed).toBe(false);
    expect(r.items.map((i) => i.status)).toEqual(['sent', 'sent']);
    expect(bodies[0]).toBe(bodies[1]); // the same ids both times
    // Third round: nothing left to send.
    r = await syncOnce(store, async () => {
      throw new Error('must not be called');
    });
    expect(r.items).toHaveLength(2);
  });

  it('a store reopened (page reload) still holds the queue', async () => {
    const idb = new IDBFactory();
    await openQueueStore(idb).put([enqueue(report, new Date(), 'r-9')]);
    const again = await openQueueStore(idb).all();
    expect(again.map((i) => i.report_id)).toEqual(['r-9']);
    await openQueueStore(idb).remove(['r-9']);
    expect(await openQueueStore(idb).all()).toEqual([]);
  });
});
