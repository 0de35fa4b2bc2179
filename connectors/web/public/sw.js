// 离线外壳 / the offline shell: the app's HTML and hashed assets are cached so the report
// form opens without coverage. The API (/v1/) is never cached: reports wait in IndexedDB.
const CACHE = 'gridcase-shell-v1';

async function precache() {
  const cache = await caches.open(CACHE);
  const res = await fetch('/', { cache: 'no-cache' });
  if (!res.ok) return;
  const html = await res.clone().text();
  await cache.put('/index.html', res);
  const assets = [...html.matchAll(/(?:src|href)="(\/(?:assets\/[^"]+|manifest\.webmanifest|icon\.svg))"/g)].map((m) => m[1]);
  await cache.addAll([...new Set([...assets, '/icon-192.png'])]);
}

self.addEventListener('install', (e) => {
  e.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin || url.pathname.startsWith('/v1/')) return;
  if (e.request.mode === 'navigate') {
    // Network first (a new version shows at once), the cached shell when offline.
    e.respondWith(
      fetch(e.request)
        .then((res) => {
          if (res.ok) caches.open(CACHE).then((c) => c.put('/index.html', res.clone()));
          return res;
        })
        .catch(() => caches.match('/index.html')),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/')) {
    // Hashed names never change: cache first, and keep what was fetched.
    e.respondWith(
      caches.match(e.request).then(
        (hit) =>
          hit ||
          fetch(e.request).then((res) => {
            if (res.ok) {
              const copy = res.clone();
              caches.open(CACHE).then((c) => c.put(e.request, copy));
            }
            return res;
          }),
      ),
    );
  }
});
