// Test page for test/image-browser.test.ts: decodes images with the browser's decoders and
// renders heatmaps with the browser's WebGPU, through the browser bundle; exposes window.rlrpImageTest.
import { acquireGpu, decodeImageInBrowser, readTexture, renderHeatmap } from '/rlrp.js';

const log = (text) => { document.getElementById('log').textContent += `\n${text}`; };

async function fetchBytes(name) {
  const response = await fetch(`/data/${name}`);
  if (!response.ok) throw new Error(`GET /data/${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

window.rlrpImageTest = {
  /** Decodes /data/<name> (its first `cut` bytes, when given); returns the image or the error. */
  async decode(name, cut) {
    const bytes = await fetchBytes(name);
    try {
      const image = await decodeImageInBrowser(cut === undefined ? bytes : bytes.slice(0, cut), { name });
      return { ...image, data: Array.from(image.data) };
    } catch (e) {
      return { error: `${e.name}: ${e.message}` };
    }
  },
  /** Renders relevance (an array of floats of NHWC `shape`) as a heatmap on the page's GPU. */
  async render(relevance, shape, options) {
    if (!navigator.gpu) return { error: 'navigator.gpu is missing' };
    let gpu;
    try {
      gpu = await acquireGpu();
    } catch (e) {
      return { error: String(e?.message ?? e) };
    }
    const data = Float32Array.from(relevance);
    const buffer = gpu.device.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Float32Array(buffer.getMappedRange(0, data.byteLength)).set(data);
    buffer.unmap();
    const texture = await renderHeatmap(gpu, buffer, { shape }, options);
    const image = await readTexture(gpu, texture);
    texture.destroy();
    buffer.destroy();
    log(`rendered ${image.width} x ${image.height} on ${gpu.adapter}`);
    return { adapter: gpu.adapter, width: image.width, height: image.height, data: Array.from(image.data) };
  },
};
window.rlrpReady = true;
log('ready');
