import { describe, expect, it, beforeEach } from 'vitest';
import { describeEvent, rejectionText, type CaseEvent } from './timeline';
import { actionsFor } from './actions';
import { OrgIndex } from './org';
import { setLocale } from '../i18n';

const org = new OrgIndex({
  me: { person: 's-0101', name: '扎西', role: 'community_officer', unit: 'jjbl-c1' },
  levels: ['grid', 'village', 'township', 'county'],
  units: [
    { id: 'jiajiboluo', name: '加吉博洛镇', level: 'township', parent: 'zhiduo' },
    { id: 'jjbl-c1', name: '第一社区', level: 'village', parent: 'jiajiboluo' },
    { id: 'jjbl-c1-g01', name: '第一网格', level: 'grid', parent: 'jjbl-c1' },
  ],
});
const nameOf = (u: string | null | undefined) => org.name(u);
const ev = (e: Partial<CaseEvent>): CaseEvent => ({ case_id: 'r-1', seq: 1, type: 'opened', at: '2026-06-12T08:30:00Z', unit: 'jjbl-c1-g01', ...e });

describe('timeline wording', () => {
  beforeEach(() => setLocale('zh-CN'));

  it('an SLA escalation reads "第一网格 → 第一社区：超时升级"', () => {
    const e = ev({ type: 'level_changed', trigger: 'sla_expired', from_unit: 'jjbl-c1-g01', to_unit: 'jjbl-c1', unit: 'jjbl-c1' });
    expect(describeEvent(e, nameOf)).toBe('第一网格 → 第一社区：超时升级');
  });

  it('a migration names both versions (gridcase migrate)', () => {
    const e = ev({ type: 'migrated', trigger: 'migrate', from_version: 1, to_version: 2 });
    expect(describeEvent(e, nameOf)).toBe('第一网格：流程规则由 v1 迁移到 v2，时限按新规则重算');
  });

  it('opening, transitions, rejections and closing in plain Chinese', () => {
    expect(describeEvent(ev({ type: 'opened', grid: 'jjbl-c1-g01', category: 'road' }), nameOf)).toBe('第一网格：上报立案（道路交通）');
    expect(describeEvent(ev({ type: 'transition', trigger: 'resolve', from_state: 'handling', to_state: 'verifying' }), nameOf)).toBe(
      '第一网格：办结，办理中 → 待核查',
    );
    expect(describeEvent(ev({ type: 'transition', trigger: 'accept', from_state: 'handling', to_state: 'handling' }), nameOf)).toBe('第一网格：受理');
    expect(describeEvent(ev({ type: 'event_rejected', reason: "actor 's-0101' may not 'verify' in state 'verifying' (by refused)" }), nameOf)).toBe(
      '第一网格：操作未被接受：s-0101 无权在“待核查”状态下执行“核查结案”',
    );
    expect(rejectionText("state 'handling' has no transition for 'verify'")).toBe('“办理中”状态下没有“核查结案”操作');
    expect(rejectionText("case 'r-1' is closed (state 'closed')")).toBe('案件已结案');
    expect(rejectionText('something else')).toBe('something else');
    expect(describeEvent(ev({ type: 'notified', target_unit: 'jiajiboluo' }), nameOf)).toBe('通知 加吉博洛镇');
    expect(describeEvent(ev({ type: 'closed', unit: 'jjbl-c1' }), nameOf)).toBe('第一社区：结案');
    expect(describeEvent(ev({ type: 'something_new' }), nameOf)).toBe('第一网格：something_new');
  });

  it('unknown units show their id; grids get their village in full names', () => {
    expect(describeEvent(ev({ type: 'closed', unit: 'elsewhere' }), nameOf)).toBe('elsewhere：结案');
    expect(org.fullName('jjbl-c1-g01')).toBe('第一社区第一网格');
    expect(org.gridsUnder('jjbl-c1').map((g) => g.id)).toEqual(['jjbl-c1-g01']);
  });

  it('English wording', () => {
    setLocale('en');
    const e = ev({ type: 'level_changed', trigger: 'sla_expired', from_unit: 'jjbl-c1-g01', to_unit: 'jjbl-c1' });
    expect(describeEvent(e, nameOf)).toBe('第一网格 → 第一社区: deadline passed, escalated');
  });

  it('offers the actions of the state, none when closed', () => {
    expect(actionsFor('grid-escalation', 'handling', 'grid', false)).toEqual(['accept', 'resolve', 'escalate', 'comment']);
    expect(actionsFor('grid-escalation', 'handling', 'village', false)).toContain('return');
    expect(actionsFor('grid-escalation', 'handling', 'county', false)).not.toContain('escalate');
    expect(actionsFor('grid-escalation', 'verifying', 'village', false)).toEqual(['verify', 'reopen', 'comment']);
    expect(actionsFor('emergency', 'closed', 'county', true)).toEqual([]);
  });
});
