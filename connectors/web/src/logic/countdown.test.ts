import { describe, expect, it, beforeEach } from 'vitest';
import { countdown, formatDuration, urgencyCompare, matchesFilter, matchesSearch, type CaseSummary } from './countdown';
import { setLocale } from '../i18n';

const base: CaseSummary = {
  case_id: 'a', workflow: 'grid-escalation', state: 'handling', level: 'grid', unit: 'g1', grid: 'g1',
  category: 'road', title: '道路塌方', severity: 2, closed: false, opened_at: '2026-06-12T08:00:00Z',
  updated_at: '2026-06-12T08:00:00Z', sla_due: null, overdue: false, seq: 1, co_handlers: [],
};

describe('countdown', () => {
  beforeEach(() => setLocale('zh-CN'));
  const now = Date.parse('2026-06-12T08:30:00Z');

  it('formats the two largest units', () => {
    expect(formatDuration(45_000)).toBe('45秒');
    expect(formatDuration(12 * 60_000 + 30_000)).toBe('12分30秒');
    expect(formatDuration(5 * 3600_000 + 12 * 60_000 + 59_000)).toBe('5小时12分');
    expect(formatDuration(2 * 86400_000 + 3 * 3600_000)).toBe('2天3小时');
    expect(formatDuration(86400_000)).toBe('1天');
    expect(formatDuration(0)).toBe('0秒');
  });

  it('says what is left, or how late, and marks overdue', () => {
    expect(countdown('2026-06-12T10:30:00Z', now)).toEqual({ text: '剩 2小时', overdue: false, remainingMs: 7200_000 });
    const late = countdown('2026-06-12T08:00:00Z', now);
    expect(late.text).toBe('超时 30分');
    expect(late.overdue).toBe(true);
    expect(countdown(null, now)).toEqual({ text: '无时限', overdue: false, remainingMs: null });
    expect(countdown('not a time', now).remainingMs).toBeNull();
  });

  it('speaks English when switched', () => {
    setLocale('en');
    expect(countdown('2026-06-13T10:30:00Z', now).text).toBe('1d2h left');
    expect(countdown('2026-06-12T08:29:00Z', now).text).toBe('overdue 1m');
  });

  it('orders the most urgent first: earliest deadline, then severity, none last', () => {
    const a = { ...base, case_id: 'a', sla_due: '2026-06-12T12:00:00Z' };
    const b = { ...base, case_id: 'b', sla_due: '2026-06-12T09:00:00Z' };
    const c = { ...base, case_id: 'c', sla_due: null, severity: 5 };
    const d = { ...base, case_id: 'd', sla_due: '2026-06-12T12:00:00Z', severity: 4 };
    expect([a, b, c, d].sort(urgencyCompare).map((x) => x.case_id)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('filters by level, category, grid and state', () => {
    const f = { level: 'grid', category: '', grid: '', state: '' };
    expect(matchesFilter(base, f)).toBe(true);
    expect(matchesFilter(base, { ...f, category: 'noise' })).toBe(false);
    expect(matchesFilter(base, { ...f, grid: 'g1', state: 'handling' })).toBe(true);
    expect(matchesSearch(base, '塌方')).toBe(true);
    expect(matchesSearch({ ...base, case_id: 'r-20261129-abc' }, 'abc')).toBe(true);
    expect(matchesSearch(base, 'xyz')).toBe(false);
  });
});
