/** An 8-bit RGBA image, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A decoded file: RGBA pixels plus what the file itself stored. */
export interface DecodedImage extends RgbaImage {
  format: ImageFormat;
  /** Channels the file stores: 1 grey, 2 grey + alpha, 3 colour, 4 colour + alpha (palette: 3 or 4). */
  channels: 1 | 2 | 3 | 4;
}

export type ImageFormat = 'png' | 'jpeg';

/** 8-bit pixels with 1 (grey), 3 (RGB) or 4 (RGBA) interleaved channels, as Keras's load_img returns them. */
export interface Pixels {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

export interface DecodeOptions {
  /** Reject images with more pixels than this (default MAX_PIXELS, 8192 x 8192). */
  maxPixels?: number;
  /** Names the image in error messages (default 'image'). */
  name?: string;
}
