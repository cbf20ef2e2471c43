import { DisposedError, GpuError, InputShapeError, InputValueError, NumericalError } from './errors.js';
import { graphFromKeras, type GraphLoadOptions } from './graph/from-keras.js';
import type { Graph, Shape } from './graph/ir.js';
import { sizeOf } from './graph/ir.js';
import { readKerasModel, type KerasModel } from './keras/load.js';
import type { ByteSource } from './keras/source.js';
import { acquireGpu, checked, countingView, recoverGpu, type Gpu, type GpuOptions } from './gpu/device.js';
import { GpuResources, MemoryCounter, type GpuMemory, type TensorRef } from './gpu/resources.js';
import { RelevancePlan } from './explain/relevance-plan.js';
import { PassTimer, phaseMs } from './gpu/timer.js';
import { mapWhenDone, nextEstimate, pacesPolling, sleepFor } from './gpu/wait.js';
import { ruleFor, type Method, type MethodOptions } from './rules/index.js';
import { releaseModifiedWeights } from './rules/parameters.js';
import { ForwardPlan, maxMicroBatch, uploadWeights, type UploadedWeights } from './engine/forward.js';
import { renderHeatmap } from './image/render.js';
import type { HeatmapOptions } from './image/heatmap.js';

export interface LoadOptions extends GraphLoadOptions, GpuOptions {
  /** Reuse an already acquired GPU (several models on one device). */
  gpu?: Gpu;
  /**
   * Storage of conv/dense kernels: 'f32' (default) or 'f16' (half the memory, needs the adapter
   * feature 'shader-f16'; sums stay f32, results differ from f32 by about 1e-3 relative).
   */
  weightPrecision?: 'f32' | 'f16';
}

export interface Prediction {
  /** Pre-softmax logits, batch first: [batch, classes]. */
  logits: Float32Array;
  batch: number;
  classes: number;
}

export interface ModelInfo {
  name: string;
  format: string;
  kerasVersion?: string;
  inputShape: Shape;
  outputShape: Shape;
  adapter: string;
  /** The model ended in a softmax, stripped so that outputs are logits. */
  outputSoftmax: boolean;
}

export interface ExplainOptions extends MethodOptions {
  method?: Method;
  /** Class to explain: one for all samples, one per sample, or the predicted class (default). */
  target?: number | number[];
  /** Input shape [batch, ...], checked against the model when given. */
  shape?: Shape;
  /** Return the relevance at this Keras layer's output instead of at the input. */
  layer?: string;
  /** Time every dispatch on its own (timings.passes): for benchmarks; slightly slower. */
  profile?: boolean;
}

export interface LayerRelevance {
  /** Keras layer name. */
  name: string;
  /** Per-sample sum of |R| and sum of R at the layer's output. */
  l1: number[];
  sum: number[];
}

export interface Explanation {
  method: string;
  /** Relevance at the input (or at `layer`), batch first (NHWC), of shape `shape`. */
  relevance: Float32Array;
  shape: number[];
  logits: Float32Array;
  targets: number[];
  batch: number;
  layers: LayerRelevance[];
  /** GPU time of this call's forward and relevance passes (timestamp queries; absent where the adapter has none). */
  timings?: { forwardMs: number; relevanceMs: number; passes?: Record<string, number> };
}

/**
 * Bytes of one staging or read-back buffer: a batch bigger than this runs as several
 * submissions, so a huge batch never needs a huge transfer buffer on the device.
 */
const MAX_TRANSFER_BYTES = 256 * 1024 * 1024;

/**
 * A Keras model on the GPU: weights uploaded once, forward plans compiled per micro-batch size.
 * Calls on one model run one at a time, in call order (they share compiled plans and buffers).
 */
export class Model {
  private plans = new Map<string, ForwardPlan>();
  private relevancePlans = new Map<string, RelevancePlan>();
  private static readonly RELEVANCE_PLANS_KEPT = 3;
  /** Last wall time of one micro-batch per compiled plan (keyed by its input buffer), to pace read-backs. */
  private chunkMs = new WeakMap<GPUBuffer, number>();
  /** Submissions so far, for sleepFor's occasional polled run. */
  private submissions = 0;
  private destroyed = false;
  /** The last admitted call; the next one starts after it settles. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  private constructor(
    readonly graph: Graph,
    readonly keras: KerasModel,
    /** The Gpu as given or acquired (possibly shared by several models). */
    private readonly shared: Gpu,
    /** This model's counting view of it: every buffer the model makes is counted in `memory`. */
    readonly gpu: Gpu,
    private readonly memory: MemoryCounter,
    private weightResources: GpuResources,
    private weights: UploadedWeights,
    /** The device the weights live on; a replaced device means uploading them again. */
    private weightsDevice: GPUDevice,
  ) {}

  /** Loads a Keras file (path, URL, or bytes), checks every layer, then uploads the weights. */
  static async load(source: ByteSource, options: LoadOptions = {}): Promise<Model> {
    return Model.fromKeras(await readKerasModel(source, options), options);
  }

  /** A model from an already read Keras model (configuration and weights in memory). */
  static async fromKeras(keras: KerasModel, options: LoadOptions = {}): Promise<Model> {
    const graph = graphFromKeras(keras, options);
    const precision = options.weightPrecision ?? 'f32';
    if (precision !== 'f32' && precision !== 'f16') throw new GpuError(`weightPrecision must be 'f32' or 'f16', not '${String(precision)}'`);
    const shared = options.gpu ?? (await acquireGpu(options));
    await recoverGpu(shared);
    const memory = new MemoryCounter();
    const gpu = countingView(shared, memory);
    const res = new GpuResources(gpu, precision);
    try {
      const weights = await checked(gpu, 'uploading weights', () => uploadWeights(res, graph));
      return new Model(graph, keras, shared, gpu, memory, res, weights, shared.device);
    } catch (e) {
      res.destroy();
      throw e;
    }
  }

  /** Live GPU buffers this model owns (weights, compiled plans, buffers of calls in flight) and their bytes. */
  gpuMemory(): GpuMemory {
    return this.memory.snapshot();
  }

  get info(): ModelInfo {
    return {
      name: this.graph.name, format: this.keras.format, kerasVersion: this.keras.kerasVersion, adapter: this.gpu.adapter,
      inputShape: this.graph.nodes[this.graph.input].shape, outputShape: this.graph.nodes[this.graph.output].shape,
      outputSoftmax: this.graph.outputSoftmax,
    };
  }

  /** Checks an NHWC batch against the model's input shape; returns the batch size. */
  checkInput(input: Float32Array, shape?: Shape): number {
    if (!(input instanceof Float32Array)) throw new InputShapeError(`input must be a Float32Array, got ${Object.prototype.toString.call(input)}`);
    const per = this.info.inputShape;
    const perSize = sizeOf(per);
    if (shape) {
      if (shape.length !== per.length + 1 || shape.slice(1).some((d, i) => d !== per[i])) {
        throw new InputShapeError(`input shape [${shape.join(', ')}] does not match the model's input [batch, ${per.join(', ')}]`);
      }
      if (sizeOf(shape) !== input.length) throw new InputShapeError(`input shape [${shape.join(', ')}] needs ${sizeOf(shape)} values, got ${input.length}`);
    }
    if (input.length === 0) throw new InputShapeError(`input is empty (batch 0); pass at least one sample of shape [${per.join(', ')}]`);
    if (input.length % perSize !== 0) {
      throw new InputShapeError(`input has ${input.length} values, not a whole number of samples of shape [${per.join(', ')}] (${perSize} values each)`);
    }
    for (let i = 0; i < input.length; i++) {
      if (!Number.isFinite(input[i])) {
        throw new InputValueError(`input value ${i} is ${input[i]} (sample ${Math.floor(i / perSize)}); inputs must be finite`);
      }
    }
    return input.length / perSize;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new DisposedError('this model was disposed (destroyed); load it again to use it');
  }

  /**
   * Runs a call after every earlier one has settled. Before it runs, a lost device is replaced
   * (when we own it) and the weights are uploaded again to the new one.
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.assertAlive();
    this.pending++;
    const run = this.tail.then(async () => {
      await this.ensureDevice();
      return work();
    });
    this.tail = run.catch(() => undefined).finally(() => {
      if (--this.pending === 0 && this.destroyed) this.releaseGpuObjects();
    });
    return run;
  }

  private async ensureDevice(): Promise<void> {
    await recoverGpu(this.shared);
    if (this.weightsDevice === this.shared.device) return;
    // The device was replaced (by this call or by another model on the same Gpu): start afresh on it.
    this.releaseGpuObjects();
    this.chunkMs = new WeakMap();
    this.weightResources = new GpuResources(this.gpu);
    this.weights = await checked(this.gpu, 'uploading weights to the new device', () => uploadWeights(this.weightResources, this.graph));
    this.weightsDevice = this.shared.device;
  }

  private async plan(batch: number, retain: number[] = []): Promise<ForwardPlan> {
    const key = `${batch}:${retain.join(',')}`;
    let plan = this.plans.get(key);
    if (!plan) {
      // Keep one compiled plan per purpose so repeated calls reuse it and memory stays flat.
      for (const [k, p] of this.plans) if (k.split(':')[1] === retain.join(',')) { p.destroy(); this.plans.delete(k); }
      plan = await checked(this.gpu, 'compiling the forward pass', () => ForwardPlan.compile(this.gpu, this.graph, this.weights, batch, new Set(retain)));
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * Runs the forward pass on an NHWC float32 batch and returns the logits. Batches larger
   * than one storage binding allows run as several micro-batches in one submission.
   */
  async predict(input: Float32Array, shape?: Shape): Promise<Prediction> {
    this.assertAlive();
    const batch = this.checkInput(input, shape);
    const classes = sizeOf(this.info.outputShape);
    const [logits] = await this.exclusive(() => this.run(input, batch, [this.graph.output]));
    requireFinite(logits, classes, 'logits');
    return { logits, batch, classes };
  }

  /** Outputs of the named Keras layers (after their activation) for a batch, for inspection and tests. */
  async layerOutputs(input: Float32Array, names: string[]): Promise<Map<string, Float32Array>> {
    this.assertAlive();
    const batch = this.checkInput(input);
    const ids = names.map((name) => {
      const id = this.graph.layerOutputs.get(name);
      if (id === undefined) throw new InputShapeError(`no layer named '${name}' in the model (layers: ${[...this.graph.layerOutputs.keys()].join(', ')})`);
      return id;
    });
    const values = await this.exclusive(() => this.run(input, batch, ids));
    return new Map(names.map((n, i) => [n, values[i]]));
  }

  private async run(input: Float32Array, batch: number, outputs: number[]): Promise<Float32Array[]> {
    const micro = Math.min(batch, maxMicroBatch(this.gpu, this.graph));
    const retain = [...new Set(outputs)].sort((a, b) => a - b);
    const plan = await this.plan(micro, retain);
    const { values } = await this.execute(input, batch, micro, {
      input: plan.tensors.get(this.graph.input)!,
      passesPerChunk: 1,
      encode: (encoder, timer) => plan.encode(encoder, timer),
      outputs: outputs.map((id) => ({ ref: plan.tensors.get(id)!, bytesPerSample: sizeOf(this.graph.nodes[id].shape) * 4 })),
    });
    return values;
  }

  /**
   * Runs a compiled plan over a batch in micro-batches, recorded into as few submissions as the
   * transfer buffers allow (one for any ordinary batch), and reads the requested outputs back,
   * with the passes' GPU times (summed per label) where the adapter has timestamps.
   */
  private async execute(input: Float32Array, batch: number, micro: number, plan: {
    input: TensorRef;
    /** Timed passes the plan records per micro-batch (the timer's capacity). */
    passesPerChunk: number;
    encode(encoder: GPUCommandEncoder, timer: PassTimer): void;
    /** Read back, or copied `into` a caller's buffer (then the returned array is empty). */
    outputs: { ref: TensorRef; bytesPerSample: number; into?: GPUBuffer }[];
    /** Per-chunk uploads recorded before the plan (start sample, rows). */
    beforeChunk?(encoder: GPUCommandEncoder, start: number, rows: number): void;
  }): Promise<{ values: Float32Array[]; timings?: Record<string, number> }> {
    const perIn = sizeOf(this.info.inputShape) * 4;
    const widest = Math.max(perIn, ...plan.outputs.filter((o) => !o.into).map((o) => o.bytesPerSample));
    const transferLimit = Math.min(this.gpu.limits.maxBufferSize, MAX_TRANSFER_BYTES);
    const fit = Math.floor(transferLimit / widest);
    if (fit < 1) throw new GpuError(`one sample needs a ${widest}-byte transfer buffer, more than the ${transferLimit} bytes allowed (adapter maxBufferSize ${this.gpu.limits.maxBufferSize})`);
    // Whole micro-batches per submission where possible.
    const span = fit >= micro ? Math.floor(fit / micro) * micro : fit;
    const results = plan.outputs.map((o) => new Float32Array(o.into ? 0 : (batch * o.bytesPerSample) / 4));
    let timings: Record<string, number> | undefined;
    for (let first = 0; first < batch; first += span) {
      const count = Math.min(span, batch - first);
      const submitted = await this.submit(input, first, count, micro, perIn, plan);
      submitted.values.forEach((values, i) => results[i].set(values, (first * plan.outputs[i].bytesPerSample) / 4));
      for (const [label, ms] of Object.entries(submitted.timings ?? {})) (timings ??= {})[label] = (timings[label] ?? 0) + ms;
    }
    return { values: results, timings };
  }

  /** One submission: samples [first, first + count) in micro-batches; returns the read-back outputs and pass times. */
  private async submit(input: Float32Array, first: number, count: number, micro: number, perIn: number, plan: Parameters<Model['execute']>[3]): Promise<{ values: Float32Array[]; timings?: Record<string, number> }> {
    const { device } = this.gpu;
    return checked(this.gpu, 'running the model', async () => {
      const res = new GpuResources(this.gpu);
      const chunks = Math.ceil(count / micro);
      const timer = new PassTimer(this.gpu, res, plan.passesPerChunk * chunks);
      try {
        const staging = res.buffer(count * perIn, GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'input batch');
        device.queue.writeBuffer(staging, 0, input.buffer, input.byteOffset + first * perIn, count * perIn);
        const readbacks = plan.outputs.map((o, i) => (o.into ? undefined : res.buffer(count * o.bytesPerSample, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ, `output ${i}`)));
        const encoder = device.createCommandEncoder({ label: 'model' });
        for (let start = first; start < first + count; start += micro) {
          const rows = Math.min(micro, first + count - start);
          encoder.copyBufferToBuffer(staging, (start - first) * perIn, plan.input.buffer, plan.input.offset, rows * perIn);
          plan.beforeChunk?.(encoder, start, rows);
          plan.encode(encoder, timer);
          plan.outputs.forEach((o, i) => {
            const to = readbacks[i] ? { buffer: readbacks[i], at: (start - first) * o.bytesPerSample } : { buffer: o.into!, at: start * o.bytesPerSample };
            encoder.copyBufferToBuffer(o.ref.buffer, o.ref.offset, to.buffer, to.at, rows * o.bytesPerSample);
          });
        }
        timer.finish(encoder);
        const started = performance.now();
        device.queue.submit([encoder.finish()]);
        // Sleep through most of a long expected run (sleepFor says when, mapWhenDone why), then wait for the outputs.
        const perChunk = this.chunkMs.get(plan.input.buffer);
        const known = perChunk !== undefined && !Number.isNaN(perChunk);
        const afterSleep = await mapWhenDone(readbacks.filter((b): b is GPUBuffer => b !== undefined), known ? sleepFor(perChunk * chunks, ++this.submissions) : undefined, undefined, known && pacesPolling(perChunk * chunks, this.gpu.cpu));
        const waited = (performance.now() - started) / chunks;
        const timings = await timer.read();
        const passesMs = timings && Object.values(timings).reduce((a, b) => a + b, 0) / chunks;
        // A plan's first run may include compiling its kernels (lavapipe does so at the first
        // dispatch), so it sets no estimate (NaN).
        this.chunkMs.set(plan.input.buffer, this.chunkMs.has(plan.input.buffer) ? nextEstimate(known ? perChunk : undefined, waited, afterSleep, passesMs) : NaN);
        const values = readbacks.map((b, i) => (b ? new Float32Array(b.getMappedRange().slice(0, count * plan.outputs[i].bytesPerSample)) : new Float32Array(0)));
        return { values, timings };
      } finally {
        timer.destroy();
        res.destroy();
      }
    });
  }

  /**
   * Explains a batch: the input-shaped relevance of each sample's target class (default: the
   * predicted class), the logits, and each Keras layer's per-sample relevance L1 norm and sum.
   */
  async explain(input: Float32Array, options: ExplainOptions = {}): Promise<Explanation> {
    const result = await this.exclusive(() => this.runExplanation(input, options));
    requireFinite(result.relevance, result.relevance.length / result.batch, `${result.method} relevance`);
    return result;
  }

  /**
   * As `explain`, but the relevance stays on the GPU: a new buffer (STORAGE | COPY_SRC |
   * COPY_DST, float32, batch-first NHWC of `shape`) owned by the caller, who destroys it. It
   * lives on this model's device and stays valid after `model.destroy()`.
   */
  async explainOnGpu(input: Float32Array, options: ExplainOptions = {}): Promise<Omit<Explanation, 'relevance'> & { relevance: GPUBuffer }> {
    let buffer: GPUBuffer | undefined;
    try {
      const result = await this.exclusive(() => this.runExplanation(input, options, (bytes) => {
        if (bytes > this.gpu.limits.maxBufferSize) throw new GpuError(`the relevance of this batch needs ${bytes} bytes, more than one buffer may hold (adapter maxBufferSize ${this.gpu.limits.maxBufferSize}); explain it in smaller batches`);
        return (buffer = this.gpu.device.createBuffer({
          size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label: 'relevance',
        }));
      }));
      return { ...result, relevance: buffer! };
    } catch (e) {
      buffer?.destroy();
      throw e;
    }
  }

  /**
   * As `explainOnGpu`, plus one sample's heatmap rendered on the GPU (no read-back): a new
   * rgba8unorm texture of the relevance's height x width (TEXTURE_BINDING | STORAGE_BINDING |
   * COPY_SRC), ready to sample in a render pipeline on the same device. Relevance of a layer
   * that is not [batch, height, width, channels] (a Dense layer's) is drawn as one row. Both
   * the texture and the relevance buffer are the caller's to destroy; they outlive the model.
   */
  async explainToTexture(input: Float32Array, options: ExplainOptions = {}, render: HeatmapOptions & { sample?: number } = {}): Promise<Omit<Explanation, 'relevance'> & { relevance: GPUBuffer; texture: GPUTexture }> {
    const result = await this.explainOnGpu(input, options);
    try {
      const [batch, ...rest] = result.shape;
      const shape = rest.length === 3 ? result.shape : [batch, 1, sizeOf(rest), 1];
      const texture = await renderHeatmap(this.gpu, result.relevance, { shape, sample: render.sample }, render);
      return { ...result, texture };
    } catch (e) {
      result.relevance.destroy();
      throw e;
    }
  }
  private async runExplanation(input: Float32Array, options: ExplainOptions, gpuOutput?: (bytes: number) => GPUBuffer): Promise<Explanation> {
    const method = options.method ?? 'rlrp';
    const rule = ruleFor(method, options, this.graph);
    const batch = this.checkInput(input, options.shape);
    const classes = sizeOf(this.info.outputShape);
    const requested = options.target === undefined ? new Array<number>(batch).fill(-1) : Array.isArray(options.target) ? options.target : new Array<number>(batch).fill(options.target);
    if (requested.length !== batch) throw new InputShapeError(`${requested.length} targets for a batch of ${batch}`);
    requested.forEach((t, i) => {
      if (t !== -1 && !(Number.isInteger(t) && t >= 0 && t < classes)) throw new InputShapeError(`target ${t} of sample ${i} is not a class index in [0, ${classes})`);
    });
    const at = options.layer === undefined ? this.graph.input : this.graph.layerOutputs.get(options.layer);
    if (at === undefined) throw new InputShapeError(`no layer named '${options.layer}' in the model (layers: ${[...this.graph.layerOutputs.keys()].join(', ')})`);
    const relevanceShape = [batch, ...this.graph.nodes[at].shape];
    const micro = Math.min(batch, maxMicroBatch(this.gpu, this.graph));
    const key = `${rule.name}:${micro}`;
    let plan = this.relevancePlans.get(key);
    if (plan) {
      this.relevancePlans.delete(key); // re-inserted below: the map's order is least recently used first
    } else {
      // A few methods side by side stay compiled; beyond that the least recently used plan goes.
      while (this.relevancePlans.size >= Model.RELEVANCE_PLANS_KEPT) {
        const [oldest, old] = this.relevancePlans.entries().next().value!;
        old.destroy();
        this.relevancePlans.delete(oldest);
      }
      plan = await checked(this.gpu, 'compiling the relevance pass', () => RelevancePlan.compile(this.gpu, this.graph, this.weights, micro, rule));
    }
    this.relevancePlans.set(key, plan);
    const compiled = plan;
    const nodes = this.graph.nodes.length;
    const targetsRes = new GpuResources(this.gpu);
    try {
      // Targets go through a buffer copied per chunk inside the encoder: a queue write would land before every chunk.
      const targets = targetsRes.constants(Int32Array.from(requested), 'requested targets', GPUBufferUsage.COPY_SRC);
      const { values: [logits, relevance, stats, chosen], timings } = await this.execute(input, batch, micro, {
        input: compiled.forward.tensors.get(this.graph.input)!,
        passesPerChunk: options.profile ? compiled.dispatchCount : 2,
        beforeChunk: (encoder, start, rows) => encoder.copyBufferToBuffer(targets, start * 4, compiled.targets, 0, rows * 4),
        encode: (encoder, timer) => compiled.encode(encoder, timer, options.profile),
        outputs: [
          { ref: compiled.forward.tensors.get(this.graph.output)!, bytesPerSample: classes * 4 },
          { ref: compiled.relevance.get(at)!, bytesPerSample: sizeOf(this.graph.nodes[at].shape) * 4, into: gpuOutput?.(batch * sizeOf(this.graph.nodes[at].shape) * 4) },
          { ref: { buffer: compiled.stats.buffer, offset: 0, size: compiled.stats.buffer.size }, bytesPerSample: compiled.stats.bytesPerSample },
          { ref: { buffer: compiled.targets, offset: 0, size: micro * 4 }, bytesPerSample: 4 },
        ],
      });
      const slots = compiled.stats.slots;
      const layers = [...this.graph.layerOutputs].filter(([, id]) => id < nodes).map(([name, id]) => ({
        name,
        l1: Array.from({ length: batch }, (_, n) => stats[(n * slots + compiled.statSlot(id)) * 2]),
        sum: Array.from({ length: batch }, (_, n) => stats[(n * slots + compiled.statSlot(id)) * 2 + 1]),
      }));
      requireFinite(logits, classes, 'logits');
      for (const layer of layers) {
        const bad = layer.l1.findIndex((v, n) => !Number.isFinite(v) || !Number.isFinite(layer.sum[n]));
        if (bad >= 0) {
          throw new NumericalError(`the ${rule.name} relevance of sample ${bad} is not finite at layer '${layer.name}': a division by a zero pre-activation (a rule without a stabiliser, such as lrp0) or a float32 overflow; try another rule (epsilon, rlrp)`);
        }
      }
      return {
        method: rule.name, relevance, shape: relevanceShape, logits, targets: Array.from(new Int32Array(chosen.buffer)), batch, layers,
        timings: timings && { forwardMs: phaseMs(timings, 'forward'), relevanceMs: phaseMs(timings, 'relevance'), ...(options.profile && { passes: timings }) },
      };
    } finally {
      targetsRes.destroy();
    }
  }

  /**
   * Releases every GPU buffer the model owns (at once, or when the calls in flight have
   * settled); later calls fail with DisposedError. The device is left alone.
   */
  dispose(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.pending === 0) this.releaseGpuObjects();
  }

  /** Same as `dispose()`. */
  destroy(): void {
    this.dispose();
  }

  private releaseGpuObjects(): void {
    for (const plan of [...this.plans.values(), ...this.relevancePlans.values()]) plan.destroy();
    this.plans.clear();
    this.relevancePlans.clear();
    releaseModifiedWeights(this.weights);
    this.weightResources.destroy();
  }
}

/** Refuses NaN or infinite results: a float32 overflow inside the model, reported rather than returned. */
function requireFinite(values: Float32Array, perSample: number, what: string): void {
  // A plain loop: findIndex's callback took 1.1 ms of a 224x224x3 relevance map, this 0.12 ms.
  let bad = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      bad = i;
      break;
    }
  }
  if (bad >= 0) {
    throw new NumericalError(`the ${what} of sample ${Math.floor(bad / perSample)} are not finite (${values[bad]}): a float32 overflow inside the model (its weights or the input are too large)`);
  }
}
