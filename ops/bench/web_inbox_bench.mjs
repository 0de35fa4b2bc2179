// The web app under load (docs/web.md): a real `gridcase serve` on the embedded log gets
// N reports (default 10,000, all opening cases), then headless Chromium opens the inbox of
// a county officer, who sees all of them:
//   - initial inbox load: navigation until the first row, and until all N rows are loaded
//   - the virtualised list: rows in the DOM while N are listed
//   - a report's 202 → its row in the open inbox (live over SSE), several times
// Needs the built app (connectors/web: npm ci && npm run build) and build/app/gridcase.
//   node ops/bench/web_inbox_bench.mjs [N]
import { requireTools, freePort, tempState, addToken, startServe, call, until, launch, cleanup } from '../../connectors/web/e2e/lib.mjs';

const N = Number(process.argv[2] ?? 10000);
const RUNS = 3;
const LATENCY_TRIALS = 10;
requireTools();
const state = tempState();
const port = await freePort();
const county = addToken(state, 'c-0001'); // 县级干部: the whole county
const serve = await startServe(state, port);
const base = serve.base;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

try {
  const org = (await call(base, county, 'GET', '/v1/org')).json;
  const grids = org.units.filter((u) => u.level === 'grid').map((u) => u.id);
  const cats = ['sanitation', 'road', 'facility', 'noise', 'elderly_care', 'medical', 'schooling', 'complaint', 'suggestion'];
  const t0 = Date.now();
  for (let start = 0; start < N; start += 5000) {
    const lines = [];
    for (let i = start; i < Math.min(N, start + 5000); i++) {
      lines.push(JSON.stringify({
        report_id: `bench-${i}`, grid: grids[i % grids.length], category: cats[i % cats.length],
        severity: 1 + (i % 5), title: `压力测试 ${i}`, household: `hb-${i}`,
      }));
    }
    const r = await call(base, county, 'POST', '/v1/reports/batch', lines.join('\n') + '\n', 'application/x-ndjson');
    if (r.status !== 200 || r.json.accepted !== lines.length) throw new Error(`batch: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  }
  await until(`${N} cases`, async () => (await call(base, county, 'GET', '/v1/stats')).json.opened >= N, 600000);
  console.log(`${N} reports submitted and processed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const browser = await launch();
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(120000);
  await page.goto(base + '/signin');
  await page.evaluate((t) => localStorage.setItem('gridcase.token', t), county);
  const first = [];
  const full = [];
  for (let run = 0; run < RUNS; run++) {
    await page.goto('about:blank');
    const start = Date.now();
    await page.goto(base + '/inbox');
    await page.waitForSelector('[data-test=inbox-row]');
    first.push(Date.now() - start);
    await page.waitForFunction((n) => document.querySelector('[data-test=inbox-count]')?.textContent?.replace(/\D/g, '') === String(n) && !document.querySelector('[data-test=inbox-loading]'), N);
    full.push(Date.now() - start);
  }
  const domRows = await page.$$eval('[data-test=inbox-row]', (r) => r.length);
  // Scroll through the list: the DOM keeps only the visible rows.
  await page.$eval('[data-test=inbox-list]', (el) => (el.scrollTop = el.scrollHeight / 2));
  await page.waitForFunction(() => document.querySelector('[data-test=inbox-row]') && [...document.querySelectorAll('[data-test=inbox-row]')].some((r) => parseInt(r.style.top) > 100000));
  // Scrolling: 200 steps of 5 rows, one per animation frame; the time between frames.
  const frames = await page.$eval('[data-test=inbox-list]', async (el) => {
    el.scrollTop = 0;
    const dts = [];
    let last = await new Promise((r) => requestAnimationFrame(r));
    for (let i = 0; i < 200; i++) {
      el.scrollTop += 200;
      const now = await new Promise((r) => requestAnimationFrame(r));
      dts.push(now - last);
      last = now;
    }
    return dts.sort((a, b) => a - b);
  });
  const pick = (q) => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))].toFixed(1);
  console.log(`scrolling ${N} rows: frame interval median ${pick(0.5)} ms, p95 ${pick(0.95)} ms, max ${pick(1)} ms (headless)`);
  console.log(`inbox with ${N} open cases: first row ${median(first)} ms, all loaded ${median(full)} ms (median of ${RUNS}: first ${first.join('/')} ms, all ${full.join('/')} ms); ${domRows} rows in the DOM`);

  await page.waitForSelector('[data-test=live].ok');
  const lat = [];
  for (let i = 0; i < LATENCY_TRIALS; i++) {
    // The row must be on screen: the search box narrows the 10,000 to the one expected.
    await page.fill('[data-test=f-search]', `live-${i}`);
    const r = await call(base, county, 'POST', '/v1/reports', { report_id: `live-${i}`, grid: grids[i], category: 'road', severity: 5, title: `实时 ${i}` });
    const t202 = Date.now();
    if (r.status !== 202) throw new Error(`report: ${r.status}`);
    await page.waitForSelector(`[data-case-id="live-${i}"]`);
    lat.push(Date.now() - t202);
  }
  console.log(`202 → row in the open inbox (${N} cases listed): median ${median(lat)} ms, max ${Math.max(...lat)} ms over ${LATENCY_TRIALS} (${lat.join(', ')})`);
  await browser.close();
} finally {
  await serve.stop();
  cleanup(state);
}
