/**
 * Every offset of the 4-byte `needle` in `bytes`. Node's Buffer search is native (40 ms over
 * VGG16's 553 MB); elsewhere a Horspool scan that mostly looks at every fourth byte (0.4 s).
 */
export function offsetsOf(needle: Uint8Array, bytes: Uint8Array): number[] {
  const offsets: number[] = [];
  const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  if (NodeBuffer) {
    const haystack = NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) offsets.push(at);
    return offsets;
  }
  // How far the window may move when its last byte is b: up to the last earlier occurrence of b in the needle.
  const shift = new Uint8Array(256).fill(4);
  for (let i = 0; i < 3; i++) shift[needle[i]] = 3 - i;
  for (let at = 0; at + 4 <= bytes.length; at += shift[bytes[at + 3]]) {
    if (bytes[at + 3] === needle[3] && bytes[at] === needle[0] && bytes[at + 1] === needle[1] && bytes[at + 2] === needle[2]) offsets.push(at);
  }
  return offsets;
}
