/** Scores and names of a model's classes for printing. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { classNames } from '../image/labels.js';
import { ImageError } from '../errors.js';

export interface ClassScore {
  class: number;
  name?: string;
  /** Softmax probability of the logits. */
  score: number;
  logit: number;
}

function softmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** The `k` classes with the highest scores in one row of logits, best first. */
export function topClasses(row: Float32Array, k: number, names?: string[]): ClassScore[] {
  return softmax(row).map((p, c) => ({ class: c, ...(names ? { name: names[c] ?? String(c) } : {}), score: p, logit: row[c] }))
    .sort((a, b) => b.score - a.score).slice(0, Math.min(k, row.length));
}

/** One class as `class 281 'tabby' 45.12%`. */
export function formatClass(e: ClassScore): string {
  return `class ${e.class}${e.name ? ` '${e.name}'` : ''} ${(e.score * 100).toFixed(2)}%`;
}

// Same relative path from src/cli (tests) and dist/cli (package).
const IMAGENET_CLASSES = fileURLToPath(new URL('../../weights/imagenet_classes.json', import.meta.url));

/**
 * Class names: from `--labels <json>` when given (checked against the class count), else the
 * ImageNet names for a 1000-class model, else none.
 */
export async function readClassNames(labels: string | undefined, classes: number): Promise<string[] | undefined> {
  if (labels === undefined) return classes === 1000 ? classNames(await readFile(IMAGENET_CLASSES, 'utf8'), { name: 'ImageNet class names' }) : undefined;
  const text = await readFile(labels, 'utf8').catch((e: Error) => { throw new ImageError(`could not read --labels '${labels}': ${e.message}`); });
  return classNames(text, { name: `--labels '${labels}'`, classes });
}
