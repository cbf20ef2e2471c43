import type { Server } from 'node:http';
import { join, normalize, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture, fixturesAvailable, readNpy } from './helpers/fixtures.js';
import { BUNDLE_DIR, CHROMIUM, CI, haveChromium, launchChromium, openTestPage, ROOT, serveFiles } from './helpers/chromium.js';

// The engine in headless Chromium (WebGPU on its SwiftShader Vulkan adapter): the browser
// bundle (scripts/bundle-browser.mjs) loads Keras files by URL from a local server and must
// reproduce Keras's logits (max abs difference <= 1e-3 of the logit range), as in Node.
// Chromium comes from the system (Debian: apt-get install chromium), never downloaded; set
// CHROMIUM_PATH to use another binary. Without Chromium or WebGPU the test skips locally and
// fails in CI (CI=true).

const PAGE_DIR = join(ROOT, 'test/browser');

const CASES = [
  { id: 'k3_cnn_mnist_trained', model: 'models/generated/k3_cnn_mnist_trained.keras' },
  { id: 'k3_resnet_cifar_trained', model: 'models/generated/k3_resnet_cifar_trained.h5' },
];

const available = fixturesAvailable();
if (available && !haveChromium && !CI) console.warn(`SKIPPING browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); they run in CI`);

/** The page's own files, the bundle, and (for this test only) the fixture files. */
function route(path: string): string | undefined {
  if (path === '/' || path === '/index.html') return join(PAGE_DIR, 'index.html');
  if (path === '/page.js') return join(PAGE_DIR, 'page.js');
  if (path === '/rlrp.js' || path === '/rlrp.js.map') return join(BUNDLE_DIR, path.slice(1));
  if (path.startsWith('/fixtures/')) {
    const candidate = normalize(join(FIXTURES, path.slice('/fixtures/'.length)));
    if (candidate.startsWith(FIXTURES + sep)) return candidate;
  }
  return undefined;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const range = (x: ArrayLike<number>) => Math.max(...Array.from(x)) - Math.min(...Array.from(x));

interface Probe { webgpu: boolean; adapter?: string; raw?: Record<string, string>; reason?: string; maxStorageBufferBindingSize?: number }
interface PagePrediction { logits: number[]; batch: number; classes: number; info: { adapter: string; format: string }; loadMs: number; predictMs: number }

describe.runIf(available && (haveChromium || CI))('engine in headless Chromium (WebGPU)', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base: string;
  let probe: Probe;
  const pageLog: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    ({ server, base } = await serveFiles(route));
    page = await openTestPage(browser, `${base}/`, pageLog);
    probe = await page.evaluate(() => (window as unknown as { rlrpTest: { probe(): Promise<Probe> } }).rlrpTest.probe());
    console.log(`Chromium ${browser.version()} WebGPU adapter: ${probe.webgpu ? `${probe.adapter} (${JSON.stringify(probe.raw)}, maxStorageBufferBindingSize ${probe.maxStorageBufferBindingSize})` : `none (${probe.reason})`}`);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('has a WebGPU adapter', (ctx) => {
    if (!probe.webgpu) {
      if (CI) throw new Error(`WebGPU is not available in Chromium: ${probe.reason}\n${pageLog.join('\n')}`);
      console.warn(`SKIPPING browser tests: WebGPU is not available in Chromium (${probe.reason})`);
      ctx.skip();
    }
    expect(probe.adapter).toBeTruthy();
  });

  for (const c of CASES) {
    it(`${c.id}: ${c.model} reproduces Keras's logits`, async (ctx) => {
      if (!probe.webgpu) {
        if (CI) throw new Error(`WebGPU is not available in Chromium: ${probe.reason}`);
        ctx.skip();
      }
      const inputs = `reference/${c.id}/inputs.npy`;
      const result = await page.evaluate(
        ([model, x]) => (window as unknown as { rlrpTest: { predict(m: string, x: string): Promise<PagePrediction> } }).rlrpTest.predict(model, x),
        [`${base}/fixtures/${c.model}`, `${base}/fixtures/${inputs}`] as const,
      ).catch((e: Error) => { throw new Error(`${e.message}\n${pageLog.join('\n')}`); });
      const expected = readNpy(fixture('reference', c.id, 'logits.npy'));
      expect([result.batch, result.classes]).toEqual(expected.shape);
      expect(result.info.adapter).toBe(probe.adapter);
      const diff = maxAbsDiff(result.logits, expected.data);
      const tolerance = 1e-3 * range(expected.data);
      console.log(`${c.id} in Chromium: max |logit - Keras| = ${diff.toExponential(3)} (tolerance ${tolerance.toExponential(3)}), load ${result.loadMs.toFixed(0)} ms, predict ${result.predictMs.toFixed(0)} ms`);
      expect(diff).toBeLessThanOrEqual(tolerance);
    }, 90_000);
  }
});
