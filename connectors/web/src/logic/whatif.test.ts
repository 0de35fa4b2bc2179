import { describe, expect, it } from 'vitest';
import { whatifRows, type WhatifResult, type WhatifSide } from './whatif';

const side = (s: Partial<WhatifSide>): WhatifSide => ({
  cases: 3,
  closed: 1,
  case_events: 10,
  rejected_inputs: 0,
  closed_in_grid: 1,
  closed_in_village: 1,
  by_final_level: { grid: 2, village: 1 },
  closed_at_level: { grid: 1, village: 0 },
  escalations: { grid: 1, village: 0 },
  sla_breaches: { grid: 1, village: 0 },
  ...s,
});

describe('what-if rows', () => {
  it('gives old, new and the difference, shares in per cent, per level', () => {
    const r: WhatifResult = {
      workflow: 'grid-escalation',
      replaces_version: 1,
      window: { records: 4, limit: 20000, from: null, to: null, until: '2026-06-12T08:30:00Z' },
      inputs: 3,
      bad_lines: 1,
      levels: ['grid', 'village'],
      old: side({}),
      new: side({ closed_in_grid: 0.3333, by_final_level: { grid: 0, village: 3 }, sla_breaches: { grid: 3 } }),
      same_outcome_other_history: 1,
      differing_cases: 2,
      differences: [],
    };
    const rows = whatifRows(r);
    expect(rows[0]).toEqual({ key: 'wi.cases', level: undefined, old: 3, new: 3, delta: 0, percent: false });
    const grid = rows.find((x) => x.key === 'wi.closed_in_grid')!;
    expect([grid.old, grid.new, grid.delta, grid.percent]).toEqual([100, 33.3, -66.7, true]);
    const finals = rows.filter((x) => x.key === 'wi.final_level').map((x) => [x.level, x.old, x.new, x.delta]);
    expect(finals).toEqual([
      ['grid', 2, 0, -2],
      ['village', 1, 3, 2],
    ]);
    // A level missing on a side counts as zero.
    const village = rows.find((x) => x.key === 'wi.breaches' && x.level === 'village')!;
    expect([village.old, village.new]).toEqual([0, 0]);
  });
});
