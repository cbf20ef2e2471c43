/** The library plus what only Node can do: decoding PNG and JPEG files with pure-JS decoders. */
export * from './index.js';
export { decodeImage, readImage } from './image/decode.js';
