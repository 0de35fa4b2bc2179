// After `vite build`: a .gz sibling for every text asset (gridcase serve sends it to
// clients that accept gzip), and the JavaScript shipped, gzipped, printed.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const walk = (d) => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
let js = 0;
let jsRaw = 0;
const rows = [];
for (const f of walk(dist)) {
  if (!/\.(js|css|html|svg|json|webmanifest)$/.test(f)) continue;
  const raw = readFileSync(f);
  const gz = gzipSync(raw, { level: constants.Z_BEST_COMPRESSION });
  if (gz.length < raw.length) writeFileSync(f + '.gz', gz);
  if (f.endsWith('.js') && !f.endsWith('sw.js')) {
    js += gz.length;
    jsRaw += raw.length;
    rows.push(`${relative(dist, f)}\t${raw.length}\t${gz.length}`);
  }
}
console.log(rows.join('\n'));
console.log(`JS total: ${(jsRaw / 1024).toFixed(1)} KiB raw, ${(js / 1024).toFixed(1)} KiB gzipped (budget 300 KiB)`);
if (js > 300 * 1024) {
  console.error('error: the JavaScript shipped is over 300 KiB gzipped');
  process.exit(1);
}
