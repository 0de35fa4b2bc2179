// The SLA countdown of a case: what is left (or how late it is), in words.
import { t } from '../i18n';

export interface Countdown {
  text: string;
  overdue: boolean;
  remainingMs: number | null; // null: no deadline running
}

// "2天3小时", "5小时12分", "12分30秒", "45秒": the two largest units, as a duty officer reads it.
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return t('dur.d', { n: d }) + (h ? t('dur.h', { n: h }) : '');
  if (h > 0) return t('dur.h', { n: h }) + (m ? t('dur.m', { n: m }) : '');
  if (m > 0) return t('dur.m', { n: m }) + (s ? t('dur.s', { n: s }) : '');
  return t('dur.s', { n: s });
}

export function countdown(slaDue: string | null | undefined, nowMs: number): Countdown {
  if (!slaDue) return { text: t('due.none'), overdue: false, remainingMs: null };
  const due = Date.parse(slaDue);
  if (Number.isNaN(due)) return { text: t('due.none'), overdue: false, remainingMs: null };
  const left = due - nowMs;
  if (left < 0) return { text: t('due.over', { t: formatDuration(-left) }), overdue: true, remainingMs: left };
  return { text: t('due.left', { t: formatDuration(left) }), overdue: false, remainingMs: left };
}

export interface CaseSummary {
  case_id: string;
  workflow: string;
  state: string;
  level: string;
  unit: string;
  grid: string;
  category: string;
  title: string;
  severity: number;
  closed: boolean;
  opened_at: string;
  updated_at: string;
  sla_due: string | null;
  overdue: boolean;
  seq: number;
  co_handlers: string[];
  workflow_version?: number | null; // GET /v1/cases/{id} only
}

// Most urgent first, as the server orders the inbox: the earliest deadline first (overdue
// ones are the earliest), cases without a deadline last; then higher severity, then older.
export function urgencyCompare(a: CaseSummary, b: CaseSummary): number {
  const da = a.sla_due ? Date.parse(a.sla_due) : Infinity;
  const db = b.sla_due ? Date.parse(b.sla_due) : Infinity;
  if (da !== db) return da < db ? -1 : 1;
  if (a.severity !== b.severity) return b.severity - a.severity;
  if (a.opened_at !== b.opened_at) return a.opened_at < b.opened_at ? -1 : 1;
  return a.case_id < b.case_id ? -1 : a.case_id > b.case_id ? 1 : 0;
}

export interface InboxFilter {
  level: string;
  category: string;
  grid: string;
  state: string;
}

export function matchesFilter(c: CaseSummary, f: InboxFilter): boolean {
  return (
    (!f.level || c.level === f.level) &&
    (!f.category || c.category === f.category) &&
    (!f.grid || c.grid === f.grid) &&
    (!f.state || c.state === f.state)
  );
}

// The search box: the case id or the title contains the (lower-case) text.
export function matchesSearch(c: CaseSummary, q: string): boolean {
  return c.case_id.toLowerCase().includes(q) || c.title.toLowerCase().includes(q);
}
