/**
 * Embedding example: an app with its own GPUDevice and render pipeline hands the device to
 * rlrp-webgpu, gets each explanation's heatmap as a GPUTexture (Model.explainToTexture) and
 * samples it on a rotating quad, with no read-back. Moving the noise slider or switching the
 * image re-explains. `window.__embed` lets the browser tests read the texture back.
 */
import { decodeImageInBrowser, Model, modelInput } from '../src/index.js';

const CLEAR = { r: 0.13, g: 0.13, b: 0.13, a: 1 };

const QUAD_WGSL = /* wgsl */ `
struct Scene { angle: f32 }
@group(0) @binding(0) var<uniform> scene: Scene;
@group(0) @binding(1) var heat: texture_2d<f32>;
@group(0) @binding(2) var pick: sampler;

struct Vertex { @builtin(position) position: vec4f, @location(0) uv: vec2f }

@vertex fn vs(@builtin(vertex_index) i: u32) -> Vertex {
  // Two triangles of a unit quad, turned about the vertical axis and seen in perspective.
  var corners = array<vec2f, 6>(vec2f(-1, -1), vec2f(1, -1), vec2f(1, 1), vec2f(-1, -1), vec2f(1, 1), vec2f(-1, 1));
  let p = corners[i] * 0.8;
  let c = cos(scene.angle);
  let s = sin(scene.angle);
  let world = vec3f(p.x * c, p.y, p.x * s + 2.5);
  var out: Vertex;
  out.position = vec4f(world.x * 2.0, world.y * 2.0, world.z * 0.1, world.z);
  out.uv = vec2f(corners[i].x * 0.5 + 0.5, 0.5 - corners[i].y * 0.5);
  return out;
}

@fragment fn fs(v: Vertex) -> @location(0) vec4f {
  return textureSample(heat, pick, v.uv);
}
`;

const status = document.getElementById('status')!;
const noiseSlider = document.getElementById('noise') as HTMLInputElement;
const imageSelect = document.getElementById('image') as HTMLSelectElement;

function fail(e: unknown): void {
  hook.error = String((e as Error)?.message ?? e);
  document.getElementById('error')!.textContent = hook.error;
}

type Pixels = { width: number; height: number; format: string; data: number[] };
const notReady = async (): Promise<Pixels> => { throw new Error('not ready'); };
/** What the tests read: explanations finished, frames drawn, the heatmap texture's pixels, and one frame drawn at a given angle. */
const hook = { ready: false, explanations: 0, frames: 0, error: '', readPixels: notReady, renderFrame: notReady as (angle: number) => Promise<Pixels>, setNoise: (_: number) => Promise.resolve() };
(window as unknown as { __embed: typeof hook }).__embed = hook;

async function main(): Promise<void> {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU');
  // The app's own device: rlrp-webgpu never destroys it. Big models want the adapter's real limits.
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const { maxStorageBufferBindingSize, maxBufferSize, maxStorageBuffersPerShaderStage, maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX } = adapter.limits;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBufferBindingSize, maxBufferSize, maxStorageBuffersPerShaderStage, maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX } });

  void device.lost.then((info) => fail(new Error(`the GPU device was lost: ${info.message}`)));
  const model = await Model.load(new Uint8Array(await (await fetch('weights/fashion_cnn.h5')).arrayBuffer()), { device });

  const canvas = document.getElementById('scene') as HTMLCanvasElement;
  const context = canvas.getContext('webgpu')!;
  const format = navigator.gpu.getPreferredCanvasFormat();
  // COPY_SRC only so that the tests can read a frame back.
  context.configure({ device, format, alphaMode: 'opaque', usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
  const module = device.createShaderModule({ code: QUAD_WGSL, label: 'quad' });
  const pipeline = device.createRenderPipeline({
    layout: 'auto', label: 'quad',
    vertex: { module, entryPoint: 'vs' },
    fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    primitive: { topology: 'triangle-list', cullMode: 'none' },
  });
  const sceneUniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'scene' });
  const sampler = device.createSampler({ magFilter: 'nearest', minFilter: 'nearest' });

  let clean: Float32Array = new Float32Array(0);
  let texture: GPUTexture | undefined;
  let bindGroup: GPUBindGroup | undefined;

  /** Explains the current input on the GPU; the new texture replaces the old one, which we free. */
  let latest = 0;
  async function explain(): Promise<void> {
    const ticket = ++latest;
    const noise = Number(noiseSlider.value);
    // Deterministic noise (a fixed linear congruential sequence), clamped to the input's [0, 1] range.
    let seed = 12345;
    const input = clean.map((v) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return Math.min(1, Math.max(0, v + noise * ((seed / 2 ** 32) * 2 - 1)));
    });
    const started = performance.now();
    const result = await model.explainToTexture(input, { method: 'rlrp' }, { colormap: 'bwr', scale: 'max' });
    // The relevance buffer is ours too; this app only draws the texture.
    result.relevance.destroy();
    if (ticket !== latest) {
      result.texture.destroy(); // a newer explanation is on its way
      return;
    }
    texture?.destroy();
    texture = result.texture;
    bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [
      { binding: 0, resource: { buffer: sceneUniform } }, { binding: 1, resource: texture.createView() }, { binding: 2, resource: sampler },
    ] });
    hook.explanations++;
    status.textContent = `R-LRP of class ${result.targets[0]} in ${(performance.now() - started).toFixed(0)} ms (noise ${noise}) on ${model.info.adapter}`;
  }

  async function useImage(path: string): Promise<void> {
    const image = await decodeImageInBrowser(await (await fetch(path)).arrayBuffer(), { name: path });
    clean = modelInput(image, model.info.inputShape, { preset: 'unit' });
    await explain();
  }

  /** Copies a texture (4 bytes per pixel) into a new array, row by row. */
  async function readBack(source: GPUTexture): Promise<{ width: number; height: number; format: string; data: number[] }> {
    const { width, height } = source;
    const bytesPerRow = Math.ceil((width * 4) / 256) * 256;
    const staging = device.createBuffer({ size: bytesPerRow * height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const encoder = device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture: source }, { buffer: staging, bytesPerRow }, [width, height]);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const rows = new Uint8Array(staging.getMappedRange());
    const data: number[] = [];
    for (let y = 0; y < height; y++) data.push(...rows.subarray(y * bytesPerRow, y * bytesPerRow + width * 4));
    staging.destroy();
    return { width, height, format: source.format, data };
  }

  /** Draws the quad turned by `angle` (radians) into the canvas's current texture. */
  function draw(angle: number): GPUTexture {
    const target = context.getCurrentTexture();
    device.queue.writeBuffer(sceneUniform, 0, Float32Array.of(angle));
    const encoder = device.createCommandEncoder({ label: 'frame' });
    const pass = encoder.beginRenderPass({ colorAttachments: [{ view: target.createView(), loadOp: 'clear', storeOp: 'store', clearValue: CLEAR }] });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup!);
    pass.draw(6);
    pass.end();
    device.queue.submit([encoder.finish()]);
    return target;
  }

  let paused = false;
  function frame(time: number): void {
    if (bindGroup && !paused) {
      draw(0.6 * Math.sin(time / 1000));
      hook.frames++;
    }
    requestAnimationFrame(frame);
  }

  hook.readPixels = () => readBack(texture!);
  hook.renderFrame = async (angle: number) => {
    paused = true;
    try {
      return await readBack(draw(angle));
    } finally {
      paused = false;
    }
  };

  noiseSlider.addEventListener('input', () => explain().catch(fail));
  hook.setNoise = (noise: number) => {
    noiseSlider.value = String(noise);
    return explain();
  };
  imageSelect.addEventListener('change', () => useImage(imageSelect.value).catch(fail));
  await useImage(imageSelect.value);
  requestAnimationFrame(frame);
  hook.ready = true;
}

main().catch(fail);
