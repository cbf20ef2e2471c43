import { ModelFormatError } from '../errors.js';
import { FileBytes, MemoryBytes, type ByteReader } from '../io/byte-reader.js';

/** Where model bytes come from: a file path (Node), raw bytes (browser drag-and-drop), or a URL. */
export type ByteSource = string | URL | ArrayBuffer | Uint8Array;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** In Node, the file a path or a non-web URL names (readFile takes file: URLs and refuses the rest); else undefined. */
function localFile(source: string | URL): string | URL | undefined {
  return isNode && !/^(https?|blob|data):/i.test(source instanceof URL ? source.href : source) ? source : undefined;
}

export async function readBytes(source: ByteSource, what = 'model'): Promise<{ bytes: Uint8Array; label: string }> {
  if (source instanceof Uint8Array) return { bytes: source, label: `${what} bytes` };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), label: `${what} bytes` };
  const text = source instanceof URL ? source.href : source;
  const file = localFile(source);
  if (file === undefined) {
    let response: Response;
    try {
      response = await fetch(text);
    } catch (e) {
      throw new ModelFormatError(`could not fetch ${what} '${text}': ${(e as Error).message}`);
    }
    if (!response.ok) throw new ModelFormatError(`could not fetch ${what} '${text}': HTTP ${response.status}`);
    return { bytes: new Uint8Array(await response.arrayBuffer()), label: text };
  }
  const { readFile } = await import('node:fs/promises');
  try {
    const buffer = await readFile(file);
    // A plain Uint8Array over the Buffer's memory: copying a 500 MB model costs as much as reading it.
    return { bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), label: String(text) };
  } catch (e) {
    throw new ModelFormatError(`could not read ${what} file '${text}': ${(e as Error).message}`);
  }
}

/**
 * Files up to this size are read whole even from a path: the global heap check reads them whole
 * anyway, and every later read is then a memory copy instead of a system call.
 */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

/**
 * A model's bytes for random access: a file path in Node larger than a few MiB is read as needed
 * (see FileBytes); anything else is read whole, as readBytes does.
 */
export async function openBytes(source: ByteSource, what = 'model'): Promise<ByteReader> {
  const file = source instanceof Uint8Array || source instanceof ArrayBuffer ? undefined : localFile(source);
  const path = typeof file === 'string' ? file : file?.protocol === 'file:' ? (await import('node:url')).fileURLToPath(file) : undefined;
  if (path !== undefined) {
    const onDisk = await FileBytes.open(path, what);
    if (onDisk && onDisk.size > READ_WHOLE_BYTES) return onDisk;
  }
  const { bytes, label } = await readBytes(source, what);
  return new MemoryBytes(bytes, label);
}
