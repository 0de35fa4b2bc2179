// The validation problems of a workflow's YAML placed on its lines, for the administrators'
// page: every line numbered, each problem under the line it names (POST
// /v1/workflows/validate gives line and column from 1); problems with no line (or a line
// past the end) come first, on their own.
export interface Problem {
  severity: 'error' | 'warning';
  file: string;
  line: number | null;
  column: number | null;
  message: string;
  text: string;
}

export interface AnnotatedLine {
  n: number;
  text: string;
  problems: Problem[];
  marked: 'error' | 'warning' | null;
}

export function annotate(yaml: string, problems: Problem[], file?: string): { lines: AnnotatedLine[]; general: Problem[] } {
  const texts = yaml.replace(/\r\n?/g, '\n').split('\n');
  if (texts.length > 1 && texts[texts.length - 1] === '') texts.pop();
  const lines: AnnotatedLine[] = texts.map((text, i) => ({ n: i + 1, text, problems: [], marked: null }));
  const general: Problem[] = [];
  for (const p of problems) {
    const here = file === undefined || p.file === file;
    if (!here || p.line == null || p.line < 1 || p.line > lines.length) {
      general.push(p);
      continue;
    }
    const l = lines[p.line - 1];
    l.problems.push(p);
    if (p.severity === 'error') l.marked = 'error';
    else if (!l.marked) l.marked = 'warning';
  }
  for (const l of lines) l.problems.sort((x, y) => (x.column ?? 0) - (y.column ?? 0));
  return { lines, general };
}
