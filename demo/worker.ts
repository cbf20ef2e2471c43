/**
 * The demo's GPU worker: every WebGPU call (model upload, explanations, heatmap rendering)
 * happens here, so the page stays responsive. One request at a time, each answered with its id.
 */
import { acquireGpu, decodeImageInBrowser, GpuError, loadPixels, Model, modelInput, readTexture, type Gpu } from '../src/index.js';
import type { Reply, Request } from './protocol.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<Request & { id: number }>) => void) | null;
  postMessage(message: Reply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

let gpu: Gpu | undefined;
let model: Model | undefined;
let input: Float32Array | undefined;

/** One device for the worker's lifetime, shared by every model it loads. */
async function device(): Promise<Gpu> {
  if (!navigator.gpu) throw new GpuError('this browser has no WebGPU (navigator.gpu is missing in workers): use a recent Chrome or Edge, or enable WebGPU');
  gpu ??= await acquireGpu();
  return gpu;
}

async function readBuffer(g: Gpu, buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = g.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = g.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, staging.size);
    g.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}

function bytes(n: number): string {
  const [value, unit] = n >= 2 ** 30 ? [n / 2 ** 30, 'GiB'] : n >= 2 ** 20 ? [n / 2 ** 20, 'MiB'] : [n / 2 ** 10, 'KiB'];
  return `${Number(value.toFixed(1))} ${unit}`;
}

/** Names the adapter's limits in GPU errors, since a model too big for them fails there. */
function withLimits(e: unknown, g: Gpu): unknown {
  if (!(e instanceof GpuError)) return e;
  const { maxStorageBufferBindingSize, maxBufferSize } = g.limits;
  return new GpuError(`${e.message} (this adapter, ${g.adapter}, allows buffers of ${bytes(maxBufferSize)} and storage bindings of ${bytes(maxStorageBufferBindingSize)}: the model is too large for it)`);
}

async function handle(request: Request, id: number): Promise<void> {
  const reply = (message: Reply, transfer: Transferable[] = []) => scope.postMessage(message, transfer);
  switch (request.type) {
    case 'load-model': {
      const real = await device();
      const g = request.maxBinding ? { ...real, limits: { ...real.limits, maxStorageBufferBindingSize: request.maxBinding } } : real;
      const loaded = await Model.load(new Uint8Array(request.bytes), { gpu: g }).catch((e: unknown) => { throw withLimits(e, g); });
      model?.destroy();
      model = loaded;
      input = undefined;
      const { info } = loaded;
      reply({ type: 'model', id, name: request.name, inputShape: info.inputShape, classes: info.outputShape.reduce((a, b) => a * b, 1), layers: [...loaded.graph.layerOutputs.keys()], adapter: info.adapter });
      break;
    }
    case 'set-image': {
      if (!model) throw new Error('load a model first');
      const image = await decodeImageInBrowser(request.bytes, { name: request.name });
      const shape = model.info.inputShape;
      input = modelInput(image, shape, { preset: request.preset, greyToRgb: true, name: request.name });
      const [height, width] = shape;
      const pixels = loadPixels(image, { colorMode: 'rgba', targetSize: [height, width] });
      const rgba = new Uint8ClampedArray(pixels.data);
      reply({ type: 'image', id, width, height, rgba }, [rgba.buffer]);
      break;
    }
    case 'explain': {
      if (!model || !input) throw new Error('load a model and an image first');
      const g = await device();
      for (const method of request.methods) {
        const started = performance.now();
        const result = await model.explainToTexture(input, { method, layer: request.layer || undefined }, { colormap: 'bwr', scale: 'max' })
          .catch((e: unknown) => { throw withLimits(e, model!.gpu); });
        try {
          const wallMs = performance.now() - started;
          const image = await readTexture(g, result.texture);
          const relevance = new Float32Array(await readBuffer(g, result.relevance, result.shape.reduce((a, b) => a * b, 1) * 4));
          const rgba = new Uint8ClampedArray(image.data.buffer as ArrayBuffer, image.data.byteOffset, image.data.byteLength);
          const logits = Float32Array.from(result.logits);
          reply({
            type: 'heatmap', id, method: result.method, width: image.width, height: image.height, rgba, relevance, shape: result.shape, logits,
            targets: result.targets, wallMs, forwardMs: result.timings?.forwardMs, relevanceMs: result.timings?.relevanceMs,
          }, [rgba.buffer, relevance.buffer, logits.buffer]);
        } finally {
          result.texture.destroy();
          result.relevance.destroy();
        }
      }
      reply({ type: 'done', id });
      break;
    }
  }
}

// Requests run one after another: a later one waits for the model an earlier one loads.
let queue = Promise.resolve();
scope.onmessage = ({ data }) => {
  queue = queue.then(() => handle(data, data.id).catch((e: unknown) => {
    const error = e as Error;
    scope.postMessage({ type: 'error', id: data.id, name: error?.name ?? 'Error', message: error?.message ?? String(e) });
  }));
};
