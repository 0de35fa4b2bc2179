// Helpers for the browser tests and the benchmark: a real `gridcase serve` on the embedded
// log in a temp state dir, tokens, and headless Debian Chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const SKIP = 77; // ctest SKIP_RETURN_CODE
export const webDir = resolve(new URL('..', import.meta.url).pathname);
export const repo = resolve(webDir, '../..');
export const bin = process.env.GRIDCASE_BIN ?? join(repo, 'build/app/gridcase');
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const artifacts = process.env.GRIDCASE_WEB_ARTIFACTS ?? join(repo, 'build/web-artifacts');

export function requireTools() {
  if (!existsSync(chromiumPath)) {
    console.log(`SKIP: no Chromium at ${chromiumPath} (apt-get install chromium)`);
    process.exit(SKIP);
  }
  if (!existsSync(bin)) throw new Error(`no gridcase binary at ${bin} (build the gridcase target)`);
  if (!existsSync(join(webDir, 'dist/index.html'))) throw new Error('the web app is not built: npm ci && npm run build');
  mkdirSync(artifacts, { recursive: true });
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export function tempState() {
  return mkdtempSync(join(tmpdir(), 'gridcase-web-'));
}

export function addToken(stateDir, person) {
  return execFileSync(bin, ['token', 'add', '--person', person, '--state-dir', stateDir], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .trim()
    .split('\n')
    .pop();
}

// Deploys the shipped workflows as versions (gridcase deploy), as an administrator would.
export function deploy(stateDir, actor) {
  execFileSync(bin, ['deploy', 'workflows', '--org', 'config/org.yaml', '--state-dir', stateDir, '--actor', actor], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

// Starts `gridcase serve` and resolves once /readyz answers 200.
export async function startServe(stateDir, port) {
  const proc = spawn(
    bin,
    ['serve', '--config', 'config/gridcase.yaml', '--state-dir', stateDir, '--http', `127.0.0.1:${port}`, '--web-root', join(webDir, 'dist')],
    { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise((r) => proc.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gridcase serve exited:\n${log}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`gridcase serve not ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 100)); // polling for readiness, not a timed wait
  }
  return {
    base,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export async function call(base, token, method, path, body, contentType = 'application/json') {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': contentType } : {}) },
    body: body == null ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

// Polls the API until `check` holds (the engine processes input asynchronously).
export async function until(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}
