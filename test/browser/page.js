// Test page for test/browser.test.ts: loads the browser bundle and exposes window.rlrpTest,
// which the test drives through page.evaluate. Everything is fetched by URL from the test's
// local server, as a web app would.
import { Model, parseNpy, acquireGpu } from '/rlrp.js';

const log = (text) => { document.getElementById('log').textContent += `\n${text}`; };

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

let gpuPromise;
const gpu = () => (gpuPromise ??= acquireGpu());

window.rlrpTest = {
  /** What the page sees of WebGPU, without throwing. */
  async probe() {
    if (!navigator.gpu) return { webgpu: false, reason: 'navigator.gpu is missing' };
    try {
      const g = await gpu();
      const info = (await navigator.gpu.requestAdapter())?.info;
      const raw = info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : undefined;
      return { webgpu: true, adapter: g.adapter, raw, maxStorageBufferBindingSize: g.limits.maxStorageBufferBindingSize };
    } catch (e) {
      return { webgpu: false, reason: String(e?.message ?? e) };
    }
  },
  /** Loads a model by URL, runs predict on an .npy batch fetched by URL, returns the logits. */
  async predict(modelUrl, inputsUrl) {
    const t0 = performance.now();
    const model = await Model.load(modelUrl, { gpu: await gpu() });
    const t1 = performance.now();
    try {
      const x = parseNpy(await fetchBytes(inputsUrl));
      const { logits, batch, classes } = await model.predict(x.data, x.shape);
      const t2 = performance.now();
      log(`${modelUrl}: ${batch}x${classes} logits, load ${(t1 - t0).toFixed(0)} ms, predict ${(t2 - t1).toFixed(0)} ms`);
      return { logits: Array.from(logits), batch, classes, info: model.info, loadMs: t1 - t0, predictMs: t2 - t1 };
    } finally {
      model.destroy();
    }
  },
};
window.rlrpReady = true;
log('ready');
