import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium with WebGPU (its SwiftShader Vulkan adapter) for the browser tests, and a
 * loopback server for their pages, the bundle and data. Chromium comes from the system
 * (Debian: apt-get install chromium), never downloaded; CHROMIUM_PATH picks another binary.
 */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CI = process.env.CI === 'true';
export const haveChromium = existsSync(CHROMIUM);
export const BUNDLE_DIR = join(ROOT, 'dist/browser');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json',
};

/** Serves the file that `route` maps a URL path to (404 where it gives none), read at request time. */
export function serveFiles(route: (path: string) => string | undefined): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = route(path);
    if (!file || !existsSync(file)) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

/** Bundles the current sources (so `vitest run` alone tests what is in src/) and starts Chromium. */
export async function launchChromium(): Promise<Browser> {
  if (!haveChromium) throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH; browser tests must run in CI`);
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-browser.mjs')], { cwd: ROOT, stdio: 'pipe' });
  // ANGLE on SwiftShader for the compositor: with the default GL, a WebGPU canvas that presents
  // frames gets its device destroyed after a few frames (Chromium 156 headless, no GPU).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader', '--no-sandbox',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
  });
}

/** Opens `url` and waits for the page to set window.rlrpReady; the page's console goes to `log`. */
export async function openTestPage(browser: Browser, url: string, log: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { rlrpReady?: boolean }).rlrpReady === true, undefined, { timeout: 30_000 })
    .catch((e: Error) => { throw new Error(`test page did not load: ${e.message}\n${log.join('\n')}`); });
  return page;
}
