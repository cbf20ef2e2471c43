/**
 * The demo page: picks a model, an image and methods, and shows the heatmaps the GPU worker
 * (worker.ts) renders, overlaid on the input. The page itself never touches WebGPU. With
 * `?example` it explains the bundled example at once; `?maxBinding=<bytes>` pretends the
 * adapter's storage bindings are that small, to show the message a small GPU gives.
 * `window.__rlrp` exposes the results to the browser tests; every finished heatmap canvas
 * carries data-testid="heatmap".
 */
import { classNames, formatNpy, METHODS, type Method } from '../src/index.js';
import type { HeatmapResult, ImageSet, ModelLoaded, Reply, Request } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const errorBox = $('error');
const results = $('results');
const opacity = $<HTMLInputElement>('opacity');
const explainButton = $<HTMLButtonElement>('explain');

/** What the tests read: the latest run's results by method, the run count and every error shown. */
const hook = { results: {} as Record<string, { relevance: number[]; shape: number[]; targets: number[]; logits: number[] }>, runs: 0, errors: [] as string[], busy: false };
(window as unknown as { __rlrp: typeof hook }).__rlrp = hook;

function showError(message: string): void {
  hook.errors.push(message);
  errorBox.textContent = message;
  errorBox.classList.add('shown');
}
function clearError(): void {
  errorBox.textContent = '';
  errorBox.classList.remove('shown');
}
function setStatus(text: string): void {
  status.textContent = text;
}

// ---- the worker, one request at a time ----
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 0;
const pending = new Map<number, { onReply(r: Reply): void; resolve(): void; reject(e: Error): void }>();
worker.onmessage = ({ data }: MessageEvent<Reply>) => {
  const request = pending.get(data.id);
  if (!request) return;
  if (data.type === 'error') {
    pending.delete(data.id);
    request.reject(Object.assign(new Error(data.message), { name: data.name }));
  } else {
    request.onReply(data);
    if (data.type !== 'heatmap') {
      pending.delete(data.id);
      request.resolve();
    }
  }
};
worker.onerror = (e) => showError(`The GPU worker failed: ${e.message}`);

function send(request: Request, onReply: (r: Reply) => void = () => {}, transfer: Transferable[] = []): Promise<void> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { onReply, resolve, reject });
    worker.postMessage({ ...request, id }, transfer);
  });
}

// ---- state ----
let model: (ModelLoaded & { classNames: string[] }) | undefined;
let image: { name: string; bytes: ArrayBuffer } | undefined;
let inputPixels: ImageSet | undefined;

async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`could not fetch ${path}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function namesFor(loaded: ModelLoaded, bundled: boolean): Promise<string[]> {
  try {
    if (bundled) return classNames(await (await fetch('weights/fashion_reference.json')).json(), { classes: loaded.classes });
    if (loaded.classes === 1000) return classNames(await (await fetch('weights/imagenet_classes.json')).json(), { classes: 1000 });
  } catch {
    // Class names are a convenience: fall back to indices.
  }
  return Array.from({ length: loaded.classes }, (_, i) => `class ${i}`);
}

/** Runs a step with the page marked busy; a failure is shown and leaves the page usable. */
async function step(what: string, work: () => Promise<void>): Promise<boolean> {
  hook.busy = true;
  explainButton.disabled = true;
  setStatus(`${what}…`);
  try {
    await work();
    return true;
  } catch (e) {
    const error = e as Error;
    showError(`${what} failed: ${error.name && error.name !== 'Error' ? `${error.name}: ` : ''}${error.message}`);
    return false;
  } finally {
    hook.busy = false;
    explainButton.disabled = !model || !inputPixels;
    setStatus(model ? `Model ${model.name} (input ${model.inputShape.join(' x ')}, ${model.classes} classes) on ${model.adapter}${image ? `; image ${image.name}` : ''}` : 'No model loaded');
  }
}

async function loadModel(name: string, bytes: ArrayBuffer, bundled: boolean): Promise<boolean> {
  return step(`Loading the model ${name}`, async () => {
    let loaded: ModelLoaded | undefined;
    const maxBinding = Number(new URLSearchParams(location.search).get('maxBinding')) || undefined;
    await send({ type: 'load-model', bytes, name, maxBinding }, (r) => { if (r.type === 'model') loaded = r; }, [bytes]);
    model = { ...loaded!, classNames: await namesFor(loaded!, bundled) };
    inputPixels = undefined;
    $('layers').replaceChildren(...model.layers.map((l) => Object.assign(document.createElement('option'), { value: l })));
    if (bundled) $<HTMLSelectElement>('preset').value = 'unit';
    if (image) await sendImage();
  });
}

/** Sends the current image to the worker, which makes the model's input from it. */
async function sendImage(): Promise<void> {
  if (!image || !model) return;
  inputPixels = undefined;
  await send({ type: 'set-image', bytes: image.bytes.slice(0), name: image.name, preset: $<HTMLSelectElement>('preset').value }, (r) => { if (r.type === 'image') inputPixels = r; });
  const view = $<HTMLCanvasElement>('input-view');
  view.width = inputPixels!.width;
  view.height = inputPixels!.height;
  view.getContext('2d')!.putImageData(new ImageData(inputPixels!.rgba, inputPixels!.width, inputPixels!.height), 0, 0);
}

async function setImage(name: string, bytes: ArrayBuffer): Promise<boolean> {
  const previous = image;
  image = { name, bytes };
  const ok = await step(`Reading the image ${name}`, sendImage);
  // A bad image leaves the previous one in place.
  if (!ok && previous) {
    image = previous;
    await step('Restoring the previous image', sendImage);
  }
  return ok;
}

// ---- results ----
interface Card { result: HeatmapResult; canvas: HTMLCanvasElement; heat: HTMLCanvasElement }
let cards: Card[] = [];

/** Draws the heatmap over the input pixels at the slider's opacity (no overlay for another layer's relevance). */
function draw(card: Card): void {
  const { result, canvas, heat } = card;
  const context = canvas.getContext('2d')!;
  context.clearRect(0, 0, canvas.width, canvas.height);
  const overlay = inputPixels && inputPixels.width === result.width && inputPixels.height === result.height;
  if (overlay) context.putImageData(new ImageData(inputPixels!.rgba, result.width, result.height), 0, 0);
  context.globalAlpha = overlay ? Number(opacity.value) : 1;
  context.drawImage(heat, 0, 0);
  context.globalAlpha = 1;
}
opacity.addEventListener('input', () => cards.forEach(draw));

function download(name: string, data: BlobPart, type: string): HTMLAnchorElement {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([data], { type }));
  link.download = name;
  return link;
}

function showTop5(logits: Float32Array): void {
  if (!model) return;
  const max = Math.max(...logits);
  const exp = Array.from(logits, (l) => Math.exp(l - max));
  const total = exp.reduce((a, b) => a + b, 0);
  const top = exp.map((e, i) => ({ i, p: e / total })).sort((a, b) => b.p - a.p).slice(0, 5);
  $('top5').replaceChildren(...top.map(({ i, p }) => Object.assign(document.createElement('li'), { textContent: `${model!.classNames[i] ?? i}: ${(100 * p).toFixed(1)}%` })));
}

function addCard(result: HeatmapResult): void {
  const stem = `${image?.name.replace(/\.[^.]*$/, '') ?? 'input'}.${result.method}`;
  const card = document.createElement('div');
  card.className = 'card';
  const canvas = document.createElement('canvas');
  const heat = document.createElement('canvas');
  canvas.width = heat.width = result.width;
  canvas.height = heat.height = result.height;
  heat.getContext('2d')!.putImageData(new ImageData(result.rgba, result.width, result.height), 0, 0);
  const time = document.createElement('div');
  time.className = 'time';
  const gpuTimes = result.forwardMs !== undefined ? ` (GPU: forward ${result.forwardMs.toFixed(1)} ms, relevance ${result.relevanceMs!.toFixed(1)} ms)` : '';
  time.textContent = `${result.wallMs.toFixed(0)} ms${gpuTimes}; class ${model?.classNames[result.targets[0]] ?? result.targets[0]}; shape [${result.shape.join(', ')}]`;
  // The heatmap alone, at its own size: the canvas encodes it (alpha is 255 everywhere, so exactly).
  const png = Object.assign(document.createElement('a'), { download: `${stem}.png`, textContent: 'heatmap .png' });
  heat.toBlob((blob) => { if (blob) png.href = URL.createObjectURL(blob); }, 'image/png');
  const npy = download(`${stem}.npy`, formatNpy({ shape: result.shape, data: result.relevance }) as Uint8Array<ArrayBuffer>, 'application/octet-stream');
  npy.textContent = 'relevance .npy';
  const links = document.createElement('div');
  links.append(png, ' · ', npy);
  card.append(Object.assign(document.createElement('h2'), { textContent: result.method }), canvas, time, links);
  results.append(card);
  const entry = { result, canvas, heat };
  cards.push(entry);
  draw(entry);
  canvas.dataset.testid = 'heatmap';
  canvas.dataset.method = result.method;
  hook.results[result.method] = { relevance: Array.from(result.relevance), shape: result.shape, targets: result.targets, logits: Array.from(result.logits) };
}

async function explain(): Promise<boolean> {
  const methods = [...document.querySelectorAll<HTMLInputElement>('#methods input:checked')].map((i) => i.value as Method);
  if (methods.length === 0) {
    showError('Choose at least one method.');
    return false;
  }
  clearError();
  results.replaceChildren();
  cards = [];
  hook.results = {};
  const layer = $<HTMLInputElement>('layer').value.trim();
  const ok = await step(`Explaining with ${methods.join(', ')}${layer ? ` at layer ${layer}` : ''}`, () => send({ type: 'explain', methods, layer: layer || undefined }, (r) => {
    if (r.type !== 'heatmap') return;
    if (cards.length === 0) showTop5(r.logits);
    addCard(r);
  }));
  hook.runs++;
  return ok;
}

// ---- inputs ----
function isModelFile(name: string): boolean {
  return /\.(h5|hdf5|keras)$/i.test(name);
}

async function useFile(file: File): Promise<void> {
  clearError();
  const bytes = await file.arrayBuffer();
  if (isModelFile(file.name)) {
    if (await loadModel(file.name, bytes, false)) $<HTMLSelectElement>('preset').focus();
  } else if (/\.(png|jpe?g)$/i.test(file.name) || /^image\//.test(file.type)) {
    await setImage(file.name, bytes);
  } else {
    showError(`${file.name}: not a Keras model (.h5, .keras) or an image (PNG, JPEG)`);
  }
}

for (const id of ['model-file', 'image-file']) {
  $<HTMLInputElement>(id).addEventListener('change', async (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) await useFile(file);
    input.value = '';
  });
}

const drop = $('drop');
document.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
document.addEventListener('dragleave', () => drop.classList.remove('over'));
document.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  for (const file of e.dataTransfer?.files ?? []) await useFile(file);
});

$<HTMLSelectElement>('model-select').addEventListener('change', async (e) => {
  const path = (e.target as HTMLSelectElement).value;
  await loadModel(path.split('/').pop()!, await fetchBytes(path), true);
});
$<HTMLSelectElement>('image-select').addEventListener('change', async (e) => {
  const path = (e.target as HTMLSelectElement).value;
  await setImage(path.split('/').pop()!, await fetchBytes(path));
});
$<HTMLSelectElement>('preset').addEventListener('change', () => step('Preprocessing the image', sendImage));
explainButton.addEventListener('click', () => void explain());

// The camera is optional: a picture from it is one more image.
const video = $<HTMLVideoElement>('video');
$('camera').addEventListener('click', async () => {
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access (getUserMedia needs https or localhost)');
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    video.classList.add('live');
    $<HTMLButtonElement>('capture').disabled = false;
  } catch (e) {
    showError(`Camera: ${(e as Error).message}`);
  }
});
$('capture').addEventListener('click', async () => {
  const frame = document.createElement('canvas');
  frame.width = video.videoWidth;
  frame.height = video.videoHeight;
  frame.getContext('2d')!.drawImage(video, 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => frame.toBlob(resolve, 'image/png'));
  if (blob) await setImage('camera.png', await blob.arrayBuffer());
});

// ---- start ----
$('methods').replaceChildren(...METHODS.map((m) => {
  const label = document.createElement('label');
  const box = Object.assign(document.createElement('input'), { type: 'checkbox', value: m, checked: m === 'rlrp' });
  label.append(box, ` ${m}`);
  return label;
}));

async function start(): Promise<void> {
  if (!('gpu' in navigator)) {
    showError('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (on Linux: chrome://flags/#enable-unsafe-webgpu and Vulkan), served over https or localhost.');
    setStatus('WebGPU is not available');
    return;
  }
  const modelPath = $<HTMLSelectElement>('model-select').value;
  const imagePath = $<HTMLSelectElement>('image-select').value;
  try {
    image = { name: imagePath.split('/').pop()!, bytes: await fetchBytes(imagePath) };
    if (!(await loadModel(modelPath.split('/').pop()!, await fetchBytes(modelPath), true))) return;
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  if (new URLSearchParams(location.search).has('example')) await explain();
}
void start();
