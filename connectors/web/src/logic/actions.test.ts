import { describe, expect, it } from 'vitest';
import { caseActions, type ServerAction } from './actions';

const kase = { workflow: 'grid-escalation', state: 'verifying', level: 'village', closed: false };
const a = (action: string, allowed: boolean, by: string[], conditional = false): ServerAction => ({
  action,
  allowed,
  by,
  conditional,
  when: conditional ? ['size(event.note) > 0'] : [],
});

describe('the actions of a case', () => {
  it('uses the server list: the caller’s own actions, then those of others', () => {
    const server = [
      a('comment', true, ['any']),
      a('verify', false, ['supervisor']),
      a('reopen', true, ['supervisor', 'assignee'], true),
      a('return', false, []), // no transition can apply now
    ];
    const r = caseActions(server, kase);
    expect(r.fromServer).toBe(true);
    expect(r.mine.map((x) => x.action)).toEqual(['comment', 'reopen']);
    expect(r.mine[1].conditional).toBe(true);
    expect(r.others.map((x) => x.action)).toEqual(['verify']);
  });

  it('offers nothing on a closed case, and an empty server list is no fallback', () => {
    expect(caseActions([a('comment', true, ['any'])], { ...kase, closed: true }).mine).toEqual([]);
    const r = caseActions([], kase);
    expect(r.fromServer).toBe(true);
    expect(r.mine).toEqual([]);
  });

  it('falls back on the copied table when the server gives no list', () => {
    const r = caseActions(undefined, kase);
    expect(r.fromServer).toBe(false);
    expect(r.mine.map((x) => x.action)).toEqual(['verify', 'reopen', 'comment']);
    expect(r.others).toEqual([]);
  });
});
