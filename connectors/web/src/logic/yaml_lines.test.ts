import { describe, expect, it } from 'vitest';
import { annotate, type Problem } from './yaml_lines';

const p = (line: number | null, severity: 'error' | 'warning' = 'error', column = 3, file = 'proposed.yaml'): Problem => ({
  severity,
  file,
  line,
  column,
  message: `m${line}`,
  text: `${file}:${line}:${column}: ${severity}: m${line}`,
});

describe('problems on their YAML lines', () => {
  it('numbers every line and marks those with problems, errors over warnings', () => {
    const yaml = 'a: 1\nb: 2\r\nc: 3\n';
    const r = annotate(yaml, [p(2, 'warning'), p(2, 'error', 1), p(3, 'warning')], 'proposed.yaml');
    expect(r.lines.map((l) => l.n)).toEqual([1, 2, 3]);
    expect(r.lines.map((l) => l.text)).toEqual(['a: 1', 'b: 2', 'c: 3']);
    expect(r.lines.map((l) => l.marked)).toEqual([null, 'error', 'warning']);
    expect(r.lines[1].problems.map((x) => x.column)).toEqual([1, 3]); // by column
    expect(r.general).toEqual([]);
  });

  it('keeps problems with no line, past the end, or of another file apart', () => {
    const r = annotate('a: 1', [p(null), p(9), p(1, 'error', 1, '../config/calendar.yaml')], 'proposed.yaml');
    expect(r.general.length).toBe(3);
    expect(r.lines[0].marked).toBe(null);
  });
});
