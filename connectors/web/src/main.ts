import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import { setLocale, locale } from './i18n';
import './style.css';

setLocale(locale.value);
createApp(App).use(router).mount('#app');

// The service worker keeps the app shell so the report form opens without coverage.
if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  navigator.serviceWorker.register('/sw.js').catch(() => {
    /* no offline shell: the app still works online */
  });
}
