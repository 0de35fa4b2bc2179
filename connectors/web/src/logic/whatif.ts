// The figures of POST /v1/whatif (the `gridcase whatif --json` report) as table rows.
export interface WhatifSide {
  cases: number;
  closed: number;
  case_events: number;
  rejected_inputs: number;
  closed_in_grid: number;
  closed_in_village: number;
  by_final_level: Record<string, number>;
  closed_at_level: Record<string, number>;
  escalations: Record<string, number>;
  sla_breaches: Record<string, number>;
}

export interface WhatifOutcome {
  workflow: string;
  state: string;
  level: string;
  unit: string;
  closed: boolean;
}

export interface WhatifResult {
  workflow: string;
  replaces_version: number | null;
  window: { records: number; limit: number; from: string | null; to: string | null; until: string };
  inputs: number;
  bad_lines: number;
  levels: string[];
  old: WhatifSide;
  new: WhatifSide;
  same_outcome_other_history: number;
  differing_cases: number;
  differences: { case_id: string; old: WhatifOutcome | null; new: WhatifOutcome | null; diverge_seq: number }[];
}

// One row: a message key (with the level, if any) and the two figures; shares in per cent.
export interface WhatifRow {
  key: string;
  level?: string;
  old: number;
  new: number;
  delta: number;
  percent: boolean;
}

export function whatifRows(r: WhatifResult): WhatifRow[] {
  const rows: WhatifRow[] = [];
  const add = (key: string, o: number, n: number, percent = false, level?: string) => {
    const scale = percent ? 100 : 1;
    const ov = Math.round(o * scale * 10) / 10;
    const nv = Math.round(n * scale * 10) / 10;
    rows.push({ key, level, old: ov, new: nv, delta: Math.round((nv - ov) * 10) / 10, percent });
  };
  add('wi.cases', r.old.cases, r.new.cases);
  add('wi.closed', r.old.closed, r.new.closed);
  add('wi.closed_in_grid', r.old.closed_in_grid, r.new.closed_in_grid, true);
  add('wi.closed_in_village', r.old.closed_in_village, r.new.closed_in_village, true);
  for (const [key, field] of [
    ['wi.final_level', 'by_final_level'],
    ['wi.escalations', 'escalations'],
    ['wi.breaches', 'sla_breaches'],
  ] as const) {
    for (const l of r.levels) add(key, r.old[field]?.[l] ?? 0, r.new[field]?.[l] ?? 0, false, l);
  }
  add('wi.rejected', r.old.rejected_inputs, r.new.rejected_inputs);
  return rows;
}
