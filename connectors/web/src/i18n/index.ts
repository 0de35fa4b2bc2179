// A tiny i18n: two message files, a reactive locale, `t(key, params)`.
import { ref } from 'vue';
import zh from './zh-CN';
import en from './en';

export type MessageKey = keyof typeof zh;
export type Locale = 'zh-CN' | 'en';
const files: Record<Locale, Record<string, string>> = { 'zh-CN': zh, en };

function initial(): Locale {
  try {
    return (globalThis.localStorage?.getItem('gridcase.locale') as Locale) === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}
export const locale = ref<Locale>(initial());

export function setLocale(l: Locale) {
  locale.value = l;
  try {
    localStorage.setItem('gridcase.locale', l);
  } catch {
    /* private mode */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = l;
}

export function format(text: string, params?: Record<string, string | number>): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

export function t(key: MessageKey | string, params?: Record<string, string | number>): string {
  const text = files[locale.value][key] ?? (zh as Record<string, string>)[key] ?? key;
  return format(text, params);
}

// A label for a code with a message ("cat.road"), else the code itself.
export function label(prefix: string, code: string | null | undefined): string {
  if (!code) return '';
  const key = `${prefix}.${code}`;
  const text = files[locale.value][key];
  return text ?? code;
}
