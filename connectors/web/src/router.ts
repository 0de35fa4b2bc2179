import { createRouter, createWebHistory } from 'vue-router';
import { session, signIn, isSupervisor } from './api';

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: '/inbox' },
    { path: '/signin', component: () => import('./views/SignIn.vue') },
    { path: '/inbox', component: () => import('./views/Inbox.vue') },
    { path: '/cases/:id', component: () => import('./views/CaseView.vue'), props: true },
    { path: '/figures', component: () => import('./views/Figures.vue') },
    { path: '/report', component: () => import('./views/Report.vue') },
    { path: '/admin', component: () => import('./views/AdminView.vue') },
    { path: '/:rest(.*)*', redirect: '/inbox' },
  ],
});

router.beforeEach(async (to) => {
  if (to.path === '/signin') return true;
  // The report form works offline: it needs only the stored token.
  if (to.path === '/report' && session.token) {
    if (!session.org) signIn(session.token).catch(() => {});
    return true;
  }
  if (!session.token) return { path: '/signin', query: { next: to.fullPath } };
  if (!session.org) {
    try {
      await signIn(session.token);
    } catch {
      return { path: '/signin', query: { next: to.fullPath } };
    }
  }
  if (to.path === '/figures' && !isSupervisor(session.org?.info.me.role)) return '/inbox';
  if (to.path === '/admin' && session.org?.info.me.role !== 'admin') return '/inbox';
  return true;
});
