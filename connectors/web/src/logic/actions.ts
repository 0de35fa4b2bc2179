// The actions each workflow offers in each state (workflows/README.md). The server's
// workflow has the last word: a refused action comes back as 409 with its reason.
const common: Record<string, string[]> = {
  handling: ['accept', 'resolve', 'escalate', 'return', 'comment'],
  verifying: ['verify', 'reopen', 'comment'],
  suspended: ['resume', 'resolve', 'comment'],
  monitoring: ['resolve', 'comment'],
  awaiting_confirmation: ['confirm_policy', 'decline_policy', 'escalate', 'comment'],
  processing: ['resolve', 'escalate', 'comment'],
};
const byWorkflow: Record<string, Record<string, string[]>> = {
  'grid-escalation': {
    handling: ['accept', 'resolve', 'escalate', 'return', 'comment'],
    verifying: ['verify', 'reopen', 'comment'],
    suspended: ['resume', 'resolve', 'comment'],
  },
  emergency: {
    handling: ['accept', 'resolve', 'escalate', 'comment'],
    verifying: ['verify', 'reopen'],
    monitoring: ['resolve', 'comment'],
  },
  'relocated-herders': {
    awaiting_confirmation: ['confirm_policy', 'decline_policy', 'escalate', 'comment'],
    processing: ['resolve', 'escalate', 'comment'],
    verifying: ['verify', 'reopen'],
    suspended: ['resume', 'resolve'],
  },
};

export function actionsFor(workflow: string, state: string, level: string, closed: boolean): string[] {
  if (closed) return [];
  const list = byWorkflow[workflow]?.[state] ?? common[state] ?? ['comment'];
  return list.filter((a) => {
    if (a === 'escalate' && level === 'county') return false;
    if (a === 'return' && level === 'grid') return false;
    return true;
  });
}
