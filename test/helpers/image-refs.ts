import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** test/data/image/: small files and the numbers Pillow, Keras and matplotlib give for them (scripts/image-references.py). */
export const IMAGE_DATA = join(import.meta.dirname, '..', 'data', 'image');

export function imageFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(IMAGE_DATA, name))); // a copy: Buffer.slice would share memory
}

export interface LoadImgCase {
  source: string;
  colorMode: 'rgb' | 'grayscale' | 'rgba';
  targetSize: [number, number] | null;
  interpolation: 'nearest' | 'bilinear' | 'bicubic';
  keepAspectRatio: boolean;
  shape: number[];
  pixels: string;
}

export interface ImageReferences {
  decoded: Record<string, { width: number; height: number; channels: number; rgba: string }>;
  loadImg: LoadImgCase[];
  preprocess: Record<'caffe' | 'tf' | 'torch' | 'input', string> & { shape: number[] };
  colormaps: { values: number[]; matplotlib: Record<string, number[][]> };
  heatmap: { shape: [number, number, number, number]; relevance: string; percentile: Record<string, number> };
}

export const imageRefs: ImageReferences = JSON.parse(readFileSync(join(IMAGE_DATA, 'references.json'), 'utf8'));

export function bytesOf(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export function floatsOf(b64: string): Float32Array {
  const bytes = bytesOf(b64);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}
