// The grid worker's offline queue: each report gets its own report_id when it is written,
// is kept in IndexedDB, and is sent with POST /v1/reports/batch when the network is back.
// The server is idempotent by report_id, so a retry after a lost answer never makes a
// second case. The pure part (what to send, what the answer means) is tested on its own.

export interface ReportBody {
  grid: string;
  category: string;
  severity: number;
  title: string;
  description?: string;
  household?: string;
  location?: { lat: number; lon: number };
}

export type QueueStatus = 'queued' | 'sending' | 'sent' | 'refused';

export interface QueuedReport {
  report_id: string;
  created_at: string; // when the worker saved it (sent as occurred_at)
  report: ReportBody;
  status: QueueStatus;
  attempts: number;
  case_id?: string;
  reason?: string; // the server's message ("中文 / English")
  reason_fields?: string[]; // its field messages, when it named fields
}

export interface BatchLineResult {
  line: number;
  status: number;
  case_id?: string;
  error?: { code: string; message: string; fields?: { field: string; message: string }[] };
}

// "r-20261129-" + 12 hex digits, like the server's own ids.
export function newReportId(now = new Date(), random: (n: number) => Uint8Array = randomBytes): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const day = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const hex = Array.from(random(6), (b) => b.toString(16).padStart(2, '0')).join('');
  return `r-${day}-${hex}`;
}

function randomBytes(n: number): Uint8Array {
  const a = new Uint8Array(n);
  globalThis.crypto.getRandomValues(a);
  return a;
}

export function enqueue(report: ReportBody, now = new Date(), id = newReportId(now)): QueuedReport {
  return { report_id: id, created_at: now.toISOString(), report, status: 'queued', attempts: 0 };
}

// What to send now: everything not yet answered for good. A report left "sending" by a
// page that closed mid-request goes again (same report_id: no duplicate).
export function toSend(items: QueuedReport[]): QueuedReport[] {
  return items
    .filter((r) => r.status === 'queued' || r.status === 'sending')
    .sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
}

// The batch body: one JSON report per line, line N = items[N-1].
export function batchBody(items: QueuedReport[]): string {
  return (
    items
      .map((r) => JSON.stringify({ report_id: r.report_id, occurred_at: r.created_at, ...r.report }))
      .join('\n') + '\n'
  );
}

function reasonOf(res: BatchLineResult): { reason: string; reason_fields?: string[] } {
  const e = res.error;
  if (!e) return { reason: `HTTP ${res.status}` };
  const fields = (e.fields ?? []).map((f) => f.message);
  return fields.length ? { reason: e.message, reason_fields: fields } : { reason: e.message };
}

// The answer of one batch applied to the items sent (in order): 202 → sent; 5xx and 429 →
// queued again (a later retry); any other status → refused for good, with the reason.
export function applyResults(sent: QueuedReport[], results: BatchLineResult[]): QueuedReport[] {
  const byLine = new Map(results.map((r) => [r.line, r]));
  return sent.map((item, i) => {
    const res = byLine.get(i + 1);
    const attempts = item.attempts + 1;
    if (!res) return { ...item, status: 'queued', attempts };
    if (res.status === 202 || res.status === 200) {
      return { ...item, status: 'sent', attempts, case_id: res.case_id, reason: undefined, reason_fields: undefined };
    }
    if (res.status >= 500 || res.status === 429) {
      return { ...item, status: 'queued', attempts, ...reasonOf(res) };
    }
    return { ...item, status: 'refused', attempts, ...reasonOf(res) };
  });
}

// After a failed request (no answer, 5xx, 429): all back to the queue.
export function requeue(sent: QueuedReport[], reason: string): QueuedReport[] {
  return sent.map((r) => ({ ...r, status: 'queued', attempts: r.attempts + 1, reason }));
}

// The whole request was refused (401, 403, 413...): nothing was stored; each is refused
// only when retrying cannot help (403/413/415/400); 401 waits for a new sign-in.
export function refuseAll(sent: QueuedReport[], status: number, reason: string): QueuedReport[] {
  if (status === 401 || status === 408 || status === 429 || status >= 500) return requeue(sent, reason);
  return sent.map((r) => ({ ...r, status: 'refused', attempts: r.attempts + 1, reason }));
}

// Retry backoff: 2 s, 4 s, 8 s ... at most a minute.
export function retryDelayMs(failures: number): number {
  return Math.min(60000, 2000 * 2 ** Math.max(0, Math.min(failures, 5)));
}

// ---- IndexedDB ----

const DB = 'gridcase';
const STORE = 'reports';

export interface QueueStore {
  all(): Promise<QueuedReport[]>;
  put(items: QueuedReport[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export function openQueueStore(idb: IDBFactory = globalThis.indexedDB): QueueStore {
  let dbp: Promise<IDBDatabase> | null = null;
  const db = () => {
    if (!dbp) {
      dbp = new Promise((resolve, reject) => {
        const open = idb.open(DB, 1);
        open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'report_id' });
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
    }
    return dbp;
  };
  const tx = async (mode: IDBTransactionMode, f: (s: IDBObjectStore) => void) => {
    const d = await db();
    return new Promise<void>((resolve, reject) => {
      const t = d.transaction(STORE, mode);
      f(t.objectStore(STORE));
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  };
  return {
    async all() {
      const d = await db();
      const items = await req(d.transaction(STORE, 'readonly').objectStore(STORE).getAll());
      return (items as QueuedReport[]).sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    },
    put: (items) => tx('readwrite', (s) => items.forEach((i) => s.put(i))),
    remove: (ids) => tx('readwrite', (s) => ids.forEach((i) => s.delete(i))),
  };
}

// ---- one synchronisation round ----

export type PostBatch = (body: string) => Promise<{ status: number; body: unknown }>;

// Sends what is queued in one batch and stores each outcome. A network failure or a 5xx
// leaves everything queued (same report_ids next time). Returns the items after the round.
export async function syncOnce(store: QueueStore, post: PostBatch): Promise<{ items: QueuedReport[]; failed: boolean }> {
  const all = await store.all();
  const batch = toSend(all);
  if (batch.length === 0) return { items: all, failed: false };
  await store.put(batch.map((r) => ({ ...r, status: 'sending' as const })));
  let updated: QueuedReport[];
  let failed = false;
  try {
    const res = await post(batchBody(batch));
    const body = res.body as { results?: BatchLineResult[]; error?: { message?: string } } | null;
    if (res.status === 200 && body && Array.isArray(body.results)) {
      updated = applyResults(batch, body.results);
      failed = updated.some((r) => r.status === 'queued');
    } else {
      const reason = body?.error?.message ?? `HTTP ${res.status}`;
      updated = refuseAll(batch, res.status, reason);
      failed = updated.some((r) => r.status === 'queued');
    }
  } catch (e) {
    updated = requeue(batch, e instanceof Error ? e.message : String(e));
    failed = true;
  }
  await store.put(updated);
  return { items: await store.all(), failed };
}
