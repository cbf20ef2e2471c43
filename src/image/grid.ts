/**
 * Several images side by side (the input and one heatmap per method), each under a title drawn
 * with the embedded bitmap font, composed on the CPU; write the result with encodePng.
 */
import { ImageError } from '../errors.js';
import { FONT } from './font.gen.js';
import type { RgbaImage } from './types.js';

export interface Panel {
  image: RgbaImage;
  title?: string;
}

export interface GridOptions {
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Whole-pixel upscaling of every panel (default 1). */
  scale?: number;
  /** Pixels between panels and around the grid (default 4). */
  gap?: number;
  /** RGB of the background (default white) and of the titles (default black). */
  background?: [number, number, number];
  color?: [number, number, number];
}

function fill(image: RgbaImage, x0: number, y0: number, w: number, h: number, rgb: readonly number[]): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) image.data.set([rgb[0], rgb[1], rgb[2], 255], (y * image.width + x) * 4);
}

/** `text` cut to fit `maxWidth` pixels, ending in '..' where it was cut. */
function fitText(text: string, maxWidth: number): string {
  const fits = Math.floor(maxWidth / FONT.width);
  const chars = [...text]; // code points, one glyph each
  return chars.length > fits ? `${chars.slice(0, Math.max(0, fits - 2)).join('')}..`.slice(0, fits) : text;
}

/** Draws `text` with its top-left corner at (x, y); characters outside printable ASCII as '?'. */
function drawText(image: RgbaImage, text: string, x: number, y: number, rgb: readonly number[]): void {
  [...text].forEach((ch, i) => {
    const code = ch.charCodeAt(0);
    const glyph = FONT.glyphs[(code >= FONT.first && code < FONT.first + FONT.glyphs.length ? code : 63) - FONT.first];
    glyph.forEach((bits, row) => {
      for (let col = 0; col < FONT.width; col++) {
        const px = x + i * FONT.width + col;
        const py = y + row;
        if ((bits >> col) & 1 && px < image.width && py < image.height) image.data.set([rgb[0], rgb[1], rgb[2], 255], (py * image.width + px) * 4);
      }
    });
  });
}

/** The panels in a grid, row by row; a title (when any panel has one) is centred above its panel. */
export function composeGrid(panels: Panel[], options: GridOptions = {}): RgbaImage {
  if (panels.length === 0) throw new ImageError('a grid needs at least one image');
  const { scale = 1, gap = 4, background = [255, 255, 255], color = [0, 0, 0] } = options;
  const columns = options.columns ?? panels.length;
  for (const [what, n, min] of [['scale', scale, 1], ['gap', gap, 0], ['columns', columns, 1]] as const) {
    if (!Number.isInteger(n) || n < min || n > 4096) throw new ImageError(`grid ${what} ${n} is not a whole number from ${min} to 4096`);
  }
  const cellWidth = Math.max(...panels.map((p) => p.image.width)) * scale;
  const cellHeight = Math.max(...panels.map((p) => p.image.height)) * scale;
  const titleHeight = panels.some((p) => p.title) ? FONT.height + 2 : 0;
  const rows = Math.ceil(panels.length / Math.min(columns, panels.length));
  const across = Math.min(columns, panels.length);
  const width = gap + across * (cellWidth + gap);
  const height = gap + rows * (titleHeight + cellHeight + gap);
  if (width * height > 2 ** 28) throw new ImageError(`a ${width} x ${height} grid is too large`);
  const out: RgbaImage = { width, height, data: new Uint8Array(width * height * 4) };
  fill(out, 0, 0, width, height, background);
  panels.forEach(({ image, title }, i) => {
    const left = gap + (i % across) * (cellWidth + gap);
    const top = gap + Math.floor(i / across) * (titleHeight + cellHeight + gap);
    if (title) {
      const shown = fitText(title, cellWidth);
      drawText(out, shown, left + Math.floor((cellWidth - [...shown].length * FONT.width) / 2), top, color);
    }
    const x0 = left + Math.floor((cellWidth - image.width * scale) / 2);
    const y0 = top + titleHeight;
    for (let y = 0; y < image.height * scale; y++) {
      for (let x = 0; x < image.width * scale; x++) {
        const from = (Math.floor(y / scale) * image.width + Math.floor(x / scale)) * 4;
        out.data.set(image.data.subarray(from, from + 4), ((y0 + y) * width + x0 + x) * 4);
      }
    }
  });
  return out;
}
