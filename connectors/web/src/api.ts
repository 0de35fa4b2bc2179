// The HTTP API of `gridcase serve` (docs/http.md), with the signed-in token.
import { reactive } from 'vue';
import { t } from './i18n';
import type { OrgInfo } from './logic/org';
import { OrgIndex } from './logic/org';

const TOKEN_KEY = 'gridcase.token';

export const session = reactive<{ token: string; org: OrgIndex | null }>({
  token: localStorage.getItem(TOKEN_KEY) ?? '',
  org: null,
});

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

// The server's messages are "中文 / English": show the part of the chosen language.
export function serverMessage(m: string, lang: string): string {
  const i = m.indexOf(' / ');
  if (i < 0) return m;
  return lang === 'en' ? m.slice(i + 3) : m.slice(0, i);
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (session.token) headers.set('Authorization', `Bearer ${session.token}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, 'network', t('err.network'));
  }
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok && res.status !== 202) {
    const e = body?.error;
    throw new ApiError(res.status, e?.code ?? 'http', e?.message ?? t('err.http', { status: res.status }), body);
  }
  return body as T;
}

export async function signIn(token: string): Promise<OrgIndex> {
  session.token = token.trim();
  try {
    const info = await api<OrgInfo>('/v1/org');
    session.org = new OrgIndex(info);
    localStorage.setItem(TOKEN_KEY, session.token);
    return session.org;
  } catch (e) {
    // Offline keeps the token (the report form works without the server); a refused
    // token is forgotten.
    if (!(e instanceof ApiError && e.status === 0)) session.token = '';
    session.org = null;
    throw e;
  }
}

export function signOut() {
  session.token = '';
  session.org = null;
  localStorage.removeItem(TOKEN_KEY);
}

export function isSupervisor(role: string | undefined): boolean {
  return !!role && role !== 'grid_worker' && role !== 'grid_head';
}
