// The actions of a case. The server says which actions the case's workflow (at the case's
// version) accepts in its state and whether the signed-in person may take them (`actions`
// of GET /v1/cases/{id}); caseActions() sorts them for the page. Only when a server gives
// no `actions` (an older one) does the page fall back on the table below, which mirrors
// workflows/README.md. The server's workflow has the last word either way: a refused
// action comes back as 409 with its reason.
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

// One entry of `actions` in GET /v1/cases/{id} (docs/http.md).
export interface ServerAction {
  action: string;
  by: string[]; // assignee | supervisor | co_handler | any; [] when no transition can apply now
  allowed: boolean; // the caller may take it
  conditional: boolean; // allowed, but a `when` the server could not decide may still refuse it
  when: string[];
}

export interface CaseActions {
  mine: ServerAction[]; // the caller's actions: buttons
  others: ServerAction[]; // actions others may take (e.g. the level above)
  fromServer: boolean;
}

interface CaseLike {
  workflow: string;
  state: string;
  level: string;
  closed: boolean;
}

export function caseActions(server: ServerAction[] | undefined | null, kase: CaseLike): CaseActions {
  if (Array.isArray(server)) {
    if (kase.closed) return { mine: [], others: [], fromServer: true };
    return {
      mine: server.filter((a) => a.allowed),
      // Actions no transition can take now (by: []) are not shown at all.
      others: server.filter((a) => !a.allowed && a.by.length > 0),
      fromServer: true,
    };
  }
  const mine = actionsFor(kase.workflow, kase.state, kase.level, kase.closed).map((action) => ({
    action,
    by: ['any'],
    allowed: true,
    conditional: false,
    when: [],
  }));
  return { mine, others: [], fromServer: false };
}
