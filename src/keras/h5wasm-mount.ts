import type { ByteReader } from '../io/byte-reader.js';

/**
 * Puts a ByteReader into h5wasm's (Emscripten's) file system as a read-only file, so that HDF5
 * reads the metadata it needs from wherever the reader's bytes are, and nothing else: the file
 * never has to be copied whole into the WebAssembly heap or read whole from disk. This is the
 * Emscripten way to add a file system (an object with mount(), as its WORKERFS does for Blobs):
 * one directory node holding one file node whose reads go to the reader.
 */

interface FsNode {
  id: number;
  mode: number;
  mount: unknown;
  node_ops: object;
  stream_ops: object;
  contents?: Record<string, FsNode>;
}

interface FsStream {
  node: FsNode;
  position: number;
}

export interface EmscriptenFs {
  mkdir(path: string): void;
  rmdir(path: string): void;
  mount(type: { mount(mount: unknown): FsNode }, options: object, mountpoint: string): void;
  unmount(mountpoint: string): void;
  createNode(parent: FsNode | null, name: string, mode: number, rdev: number): FsNode;
  ErrnoError: new (errno: number) => Error;
}

/** Emscripten's errno values (not Linux's). */
const ENOENT = 44;
const EINVAL = 28;
const EIO = 29;
const EPERM = 63;
const EEXIST = 20;
const DIRECTORY_MODE = 0o40555;
const FILE_MODE = 0o100444;
const FILE_NAME = 'file.h5';

export interface MountedReader {
  /** The path h5wasm opens. */
  path: string;
  /** The first error the reader raised under HDF5 (which sees only EIO). */
  failure(): Error | undefined;
  unmount(): void;
}

let mounts = 0;

/** A new directory for a mount: another copy of this library may share h5wasm's file system. */
function freeDirectory(fs: EmscriptenFs): string {
  for (;;) {
    const path = `/rlrp-reader-${++mounts}`;
    try {
      fs.mkdir(path);
      return path;
    } catch (e) {
      if ((e as { errno?: number }).errno !== EEXIST) throw e;
    }
  }
}

export function mountReader(fs: EmscriptenFs, reader: ByteReader): MountedReader {
  let failure: Error | undefined;
  const attributes = (node: FsNode, size: number) => {
    const now = new Date();
    return { dev: 1, ino: node.id, mode: node.mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size, atime: now, mtime: now, ctime: now, blksize: 4096, blocks: Math.ceil(size / 4096) };
  };
  const refuse = () => {
    throw new fs.ErrnoError(EPERM);
  };
  const directoryOps = {
    getattr: (node: FsNode) => attributes(node, 4096),
    setattr: () => {},
    lookup: (parent: FsNode, name: string) => {
      const node = parent.contents?.[name];
      if (!node) throw new fs.ErrnoError(ENOENT);
      return node;
    },
    readdir: (node: FsNode) => ['.', '..', ...Object.keys(node.contents ?? {})],
    mknod: refuse, rename: refuse, unlink: refuse, rmdir: refuse, symlink: refuse,
  };
  const fileOps = { getattr: (node: FsNode) => attributes(node, reader.size), setattr: () => {} };
  const streamOps = {
    read(_stream: FsStream, heap: Int8Array, offset: number, length: number, position: number): number {
      const count = Math.max(0, Math.min(length, reader.size - position));
      if (count === 0) return 0;
      try {
        reader.readInto(new Uint8Array(heap.buffer, heap.byteOffset + offset, count), position);
      } catch (e) {
        failure ??= e as Error;
        throw new fs.ErrnoError(EIO);
      }
      return count;
    },
    llseek(stream: FsStream, offset: number, whence: number): number {
      const position = offset + (whence === 1 ? stream.position : whence === 2 ? reader.size : 0);
      if (position < 0) throw new fs.ErrnoError(EINVAL);
      return position;
    },
    write: refuse,
  };
  const type = {
    mount(mount: unknown): FsNode {
      const root = fs.createNode(null, '/', DIRECTORY_MODE, 0);
      // Set before the file node is made, which inherits it: unmount() frees the nodes of this mount.
      root.mount = mount;
      root.node_ops = directoryOps;
      root.stream_ops = {};
      const file = fs.createNode(root, FILE_NAME, FILE_MODE, 0);
      file.node_ops = fileOps;
      file.stream_ops = streamOps;
      root.contents = { [FILE_NAME]: file };
      return root;
    },
  };
  const mountpoint = freeDirectory(fs);
  fs.mount(type, {}, mountpoint);
  reader.hold();
  return {
    path: `${mountpoint}/${FILE_NAME}`,
    failure: () => failure,
    unmount() {
      reader.release();
      fs.unmount(mountpoint);
      fs.rmdir(mountpoint);
    },
  };
}
