import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, normalize, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../src/image/decode.js';
import { BUNDLE_DIR, CHROMIUM, CI, haveChromium, launchChromium, openTestPage, ROOT, serveFiles } from './helpers/chromium.js';
import { bytesOf, floatsOf, IMAGE_DATA, imageFile, imageRefs } from './helpers/image-refs.js';

// Images in headless Chromium through the browser bundle: decoding with createImageBitmap +
// OffscreenCanvas against Pillow's pixels, and the WGSL heatmap pass on Chromium's WebGPU
// against matplotlib's golden PNG. Without Chromium the test skips locally and fails in CI.

if (!haveChromium && !CI) console.warn(`SKIPPING browser image tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); they run in CI`);

interface PageImage { width: number; height: number; channels: number; format: string; data: number[]; error?: string; adapter?: string }

function route(path: string): string | undefined {
  // The engine test's page shell, running this test's script.
  if (path === '/' || path === '/index.html') return join(ROOT, 'test/browser/index.html');
  if (path === '/page.js') return join(ROOT, 'test/browser/image-page.js');
  if (path === '/rlrp.js' || path === '/rlrp.js.map') return join(BUNDLE_DIR, path.slice(1));
  const candidate = normalize(join(IMAGE_DATA, path.slice('/data/'.length)));
  return path.startsWith('/data/') && candidate.startsWith(IMAGE_DATA + sep) ? candidate : undefined;
}

describe.runIf(haveChromium || CI)('images in headless Chromium', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageLog: string[] = [];
  const decode = (name: string, cut?: number) => page.evaluate(([n, c]) => (window as unknown as { rlrpImageTest: { decode(n: string, c?: number): Promise<PageImage> } }).rlrpImageTest.decode(n, c), [name, cut] as const);

  beforeAll(async () => {
    browser = await launchChromium();
    let base: string;
    ({ server, base } = await serveFiles(route));
    page = await openTestPage(browser, `${base}/`, pageLog);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  });

  it('the bundle carries no Node image decoder (pngjs, jpeg-js)', () => {
    const bundle = readFileSync(join(BUNDLE_DIR, 'rlrp.js'), 'utf8');
    expect(bundle).toContain('decodeImageInBrowser');
    expect(bundle).not.toMatch(/pngjs|jpeg-js|PNG\.sync|JpegImage/);
  });

  it.each(['rgb.png', 'grey.png', 'grey16.png', 'palette.png', 'rgba.png', 'grey-key.png', 'rgb-key.png'])('%s: Pillow\'s pixels (colour where opaque; a canvas premultiplies alpha; 16-bit within 1)', async (name) => {
    const image = await decode(name);
    const ref = imageRefs.decoded[name];
    expect(image.error).toBeUndefined();
    expect([image.format, image.width, image.height, image.channels]).toEqual(['png', ref.width, ref.height, ref.channels]);
    const expected = bytesOf(ref.rgba);
    for (let p = 0; p < ref.width * ref.height; p++) {
      const alpha = expected[p * 4 + 3];
      expect(image.data[p * 4 + 3]).toBe(alpha);
      // Premultiplied storage keeps colour to within 255 / alpha / 2 levels; nothing at alpha 0.
      // Chromium keeps a 16-bit sample's high byte where Node rounds v * 255 / 65535: 1 level.
      const tolerance = alpha === 255 ? (name === 'grey16.png' ? 1 : 0) : alpha === 0 ? 255 : Math.ceil(255 / alpha);
      for (let c = 0; c < 3; c++) expect(Math.abs(image.data[p * 4 + c] - expected[p * 4 + c])).toBeLessThanOrEqual(tolerance);
    }
  });

  it.each(['photo-420.jpg', 'photo-444.jpg', 'grey.jpg'])('%s: Pillow\'s pixels within 8 levels, as in Node', async (name) => {
    const image = await decode(name);
    const ref = imageRefs.decoded[name];
    expect([image.format, image.width, image.height, image.channels]).toEqual(['jpeg', ref.width, ref.height, ref.channels]);
    const expected = bytesOf(ref.rgba);
    expect(Math.max(...image.data.map((v, i) => Math.abs(v - expected[i])))).toBeLessThanOrEqual(8);
  });

  it('bad files give the same clear ImageError as in Node', async () => {
    const png = imageFile('photo.png');
    expect((await decode('photo.png', 20)).error).toBe('ImageError: photo.png: truncated PNG (no complete IHDR header)');
    expect((await decode('photo.png', png.length - 200)).error).toMatch(/^ImageError: photo\.png: the browser could not decode the PNG data/);
    expect((await decode('references.json')).error).toMatch(/^ImageError: references\.json: not a PNG or JPEG image \(it starts with bytes 7b/);
  });

  it('renders the golden heatmap with the WGSL pass on Chromium\'s WebGPU (within one bwr step, 99% exact)', async (ctx) => {
    const result = await page.evaluate(([r, s]) => (window as unknown as { rlrpImageTest: { render(r: number[], s: number[], o: object): Promise<PageImage> } }).rlrpImageTest.render(r, s, {}),
      [Array.from(floatsOf(imageRefs.heatmap.relevance)), imageRefs.heatmap.shape] as const);
    if (result.error) {
      if (CI) throw new Error(`WebGPU is not available in Chromium: ${result.error}\n${pageLog.join('\n')}`);
      console.warn(`SKIPPING the browser heatmap test: ${result.error}`);
      ctx.skip();
    }
    const golden = decodeImage(imageFile('golden-bwr.png'));
    expect([result.width, result.height]).toEqual([golden.width, golden.height]);
    const diffs = result.data.map((v, i) => Math.abs(v - golden.data[i]));
    expect(Math.max(...diffs)).toBeLessThanOrEqual(2);
    expect(diffs.filter((d) => d === 0).length / diffs.length).toBeGreaterThanOrEqual(0.99);
  });
});
