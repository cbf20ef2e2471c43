/** Messages between the demo page (main.ts) and its GPU worker (worker.ts). */
import type { Method } from '../src/index.js';

export type Request =
  /** maxBinding: pretend the adapter's storage bindings hold only this many bytes (to see the message a small GPU gives). */
  | { type: 'load-model'; bytes: ArrayBuffer; name: string; maxBinding?: number }
  | { type: 'set-image'; bytes: ArrayBuffer; name: string; preset: string }
  | { type: 'explain'; methods: Method[]; layer?: string };

export interface ModelLoaded {
  type: 'model';
  name: string;
  inputShape: number[];
  classes: number;
  layers: string[];
  adapter: string;
}

export interface ImageSet {
  type: 'image';
  /** The model input's pixels as RGBA, for the overlay. */
  width: number;
  height: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
}

export interface HeatmapResult {
  type: 'heatmap';
  method: string;
  /** Rendered on the GPU (colour map bwr, symmetric max scale), read back as RGBA. */
  width: number;
  height: number;
  rgba: Uint8ClampedArray<ArrayBuffer>;
  relevance: Float32Array<ArrayBuffer>;
  shape: number[];
  logits: Float32Array<ArrayBuffer>;
  targets: number[];
  /** Wall time of the call in the worker, and the adapter's own pass times where it has timestamps. */
  wallMs: number;
  forwardMs?: number;
  relevanceMs?: number;
}

export type Reply = (ModelLoaded | ImageSet | HeatmapResult | { type: 'done' } | { type: 'error'; name: string; message: string }) & { id: number };
