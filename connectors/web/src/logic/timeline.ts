// A case event in plain words: "第一网格 → 第一社区：超时升级".
import { t, label } from '../i18n';

export interface CaseEvent {
  case_id: string;
  seq: number;
  type: string;
  at: string;
  workflow?: string;
  state?: string;
  level?: string;
  unit?: string;
  trigger?: string;
  [k: string]: unknown;
}

export type NameOf = (unitId: string | undefined | null) => string;

function str(v: unknown): string {
  return typeof v === 'string' ? v : v == null ? '' : String(v);
}

export function triggerText(trigger: string | undefined): string {
  if (!trigger) return '';
  const tr = label('trigger', trigger);
  if (tr !== trigger) return tr;
  return label('action', trigger);
}

export function describeEvent(e: CaseEvent, nameOf: NameOf): string {
  const unit = nameOf(e.unit);
  const trigger = triggerText(e.trigger);
  switch (e.type) {
    case 'opened':
      return t('tl.opened', { grid: nameOf(str(e.grid) || e.unit), category: label('cat', str(e.category)) });
    case 'transition': {
      const from = str(e.from_state);
      const to = str(e.to_state);
      if (from === to) return t('tl.transition.same', { unit, trigger });
      return t('tl.transition', { unit, trigger, from: label('state', from), to: label('state', to) });
    }
    case 'level_changed':
      return t('tl.level_changed', { from: nameOf(str(e.from_unit)), to: nameOf(str(e.to_unit)), trigger });
    case 'co_handler_added':
      return t('tl.co_handler_added', { unit, co: nameOf(str(e.co_unit)) });
    case 'notified':
      return t('tl.notified', { target: nameOf(str(e.target_unit)) });
    case 'sla_warning':
      return t('tl.sla_warning', { unit, due: shortTime(str(e.due_at)) });
    case 'sla_breached':
      return t('tl.sla_breached', { unit, due: shortTime(str(e.due_at)) });
    case 'report_merged':
      return t('tl.report_merged', { unit, report: str(e.report_id) });
    case 'closed':
      return t('tl.closed', { unit });
    case 'event_rejected':
      return t('tl.event_rejected', { unit, reason: rejectionText(str(e.reason)) });
    case 'rule_error':
      return t('tl.rule_error', { message: str(e.message) });
    case 'migrated':
      return t('tl.migrated', { unit, from: str(e.from_version), to: str(e.to_version) });
    default:
      return t('tl.other', { unit, type: e.type });
  }
}

// "2026-06-12T08:30:00Z" -> "06-12 16:30" in the viewer's time zone (Beijing time on site).
export function shortTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

// The engine's rejection reasons (engine/engine.cpp) in the reader's language; anything
// else is shown as it came.
export function rejectionText(reason: string): string {
  let m = /^actor '([^']*)' may not '([^']+)' in state '([^']+)'/.exec(reason);
  if (m) return t('why.by', { actor: m[1], action: label('action', m[2]), state: label('state', m[3]) });
  m = /^state '([^']+)' has no transition for '([^']+)'/.exec(reason);
  if (m) return t('why.none', { action: label('action', m[2]), state: label('state', m[1]) });
  m = /^no transition for '([^']+)' applies in state '([^']+)'/.exec(reason);
  if (m) return t('why.when', { action: label('action', m[1]), state: label('state', m[2]) });
  m = /^case '([^']+)' is closed/.exec(reason);
  if (m) return t('why.closed');
  return reason;
}
