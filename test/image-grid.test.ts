import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../src/errors.js';
import { decodeImage } from '../src/image/decode.js';
import { FONT } from '../src/image/font.gen.js';
import { composeGrid } from '../src/image/grid.js';
import { encodePng } from '../src/image/png.js';
import type { RgbaImage } from '../src/image/types.js';

const solid = (width: number, height: number, rgb: number[]): RgbaImage => ({ width, height, data: Uint8Array.from({ length: width * height * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb[i % 4])) });
const at = (image: RgbaImage, x: number, y: number) => Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));

/** Whether the title text at (x, y) shows `ch`: dark exactly where its glyph has bits. */
function showsGlyph(image: RgbaImage, ch: string, x: number, y: number): boolean {
  const glyph = FONT.glyphs[ch.charCodeAt(0) - FONT.first];
  return glyph.every((bits, row) => Array.from({ length: FONT.width }, (_, col) => col).every((col) => (at(image, x + col, y + row)[0] === 0) === (((bits >> col) & 1) === 1)));
}

describe('grid of panels with titles', () => {
  // Panel A: 3 x 2 red, panel B: 1 x 3 green; scale 10, gap 1, two columns.
  const a = solid(3, 2, [255, 0, 0]);
  const b = solid(1, 3, [0, 255, 0]);
  const grid = composeGrid([{ image: a, title: 'ab' }, { image: b, title: 'é' }, { image: b, title: 'abcdefghij' }], { scale: 10, gap: 1, columns: 2 });
  const titleHeight = FONT.height + 2;

  it('lays panels out row by row in cells of the largest panel, upscaled, on white (hand-computed positions)', () => {
    // Cells are 30 x 30; width 1 + 2 * 31, height 1 + 2 * (titleHeight + 30 + 1).
    expect([grid.width, grid.height]).toEqual([63, 1 + 2 * (titleHeight + 31)]);
    expect(at(grid, 1, 1 + titleHeight)).toEqual([255, 0, 0, 255]); // A's top-left
    expect(at(grid, 30, 1 + titleHeight + 19)).toEqual([255, 0, 0, 255]); // A's bottom-right
    expect(at(grid, 30, 1 + titleHeight + 20)).toEqual([255, 255, 255, 255]); // below A
    expect(at(grid, 32 + 10, 1 + titleHeight)).toEqual([0, 255, 0, 255]); // B centred: x from 32 + 10
    expect(at(grid, 32 + 9, 1 + titleHeight)).toEqual([255, 255, 255, 255]);
    expect(at(grid, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(at(grid, 1 + 10, 1 + 2 * titleHeight + 31)).toEqual([0, 255, 0, 255]); // third panel, second row
  });

  it('draws titles centred with the bitmap font, unknown characters as ?, long ones cut with ..', () => {
    expect(showsGlyph(grid, 'a', 1 + 8, 1)).toBe(true); // 'ab' is 14 px in a 30 px cell: starts at 1 + 8
    expect(showsGlyph(grid, 'b', 1 + 8 + FONT.width, 1)).toBe(true);
    expect(showsGlyph(grid, '?', 32 + 11, 1)).toBe(true); // 'é' centred: 32 + (30 - 7) / 2
    const third = 1 + titleHeight + 31;
    ['a', 'b', '.', '.'].forEach((ch, i) => expect(showsGlyph(grid, ch, 1 + 1 + i * FONT.width, third)).toBe(true)); // 4 glyphs fit 30 px
  });

  it('round-trips through the PNG encoder and decoder', () => {
    const decoded = decodeImage(encodePng(grid, (raw) => deflateSync(raw)));
    expect([decoded.width, decoded.height]).toEqual([grid.width, grid.height]);
    expect(Array.from(decoded.data)).toEqual(Array.from(grid.data));
  });

  it('bad grid options get a clear ImageError', () => {
    expect(() => composeGrid([])).toThrow(ImageError);
    expect(() => composeGrid([])).toThrow(/at least one image/);
    expect(() => composeGrid([{ image: a }], { scale: 1.5 })).toThrow(/grid scale 1.5 is not a whole number from 1 to 4096/);
    expect(() => composeGrid([{ image: a }], { columns: 0 })).toThrow(/grid columns 0/);
  });
});
