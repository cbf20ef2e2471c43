import * as h5wasm from 'h5wasm';

/**
 * Rewrites an HDF5 file through h5wasm, object by object, letting a test replace or drop any
 * dataset or attribute on the way: how the fuzz test makes files with wrong dtypes, huge
 * declared shapes or edited model configs that are otherwise well-formed HDF5.
 */
export interface DatasetContent {
  data: ArrayLike<number> | string[];
  shape: number[];
  dtype?: string;
  /** Declared shape after writing (chunked, unlimited maxshape): dims far beyond the stored data. */
  resizeTo?: number[];
}

export interface Hdf5Edit {
  /** Returns new content, null to drop the dataset, or undefined to keep it. */
  dataset?(path: string, current: { data: ArrayLike<number>; shape: number[]; dtype: string }): DatasetContent | null | undefined;
  /** Returns a new value, null to drop the attribute, or undefined to keep it. */
  attribute?(path: string, name: string, value: unknown): unknown;
}

type Module = Awaited<typeof h5wasm.ready>;
let counter = 0;

function copyAttributes(from: h5wasm.Group | h5wasm.Dataset, to: h5wasm.Group | h5wasm.Dataset, path: string, edit: Hdf5Edit): void {
  for (const [name, attribute] of Object.entries(from.attrs)) {
    const value = attribute.value;
    const replaced = edit.attribute?.(path, name, value);
    if (replaced === null) continue;
    const out = replaced === undefined ? value : replaced;
    if (ArrayBuffer.isView(out) && (out as unknown as ArrayLike<number>).length === 0) {
      // h5wasm cannot write an empty attribute; Keras reads an absent weight_names the same way.
      continue;
    }
    if (replaced === undefined && ArrayBuffer.isView(out)) to.create_attribute(name, out as Float64Array, attribute.shape, attribute.dtype);
    else to.create_attribute(name, out as string);
  }
}

function copyGroup(from: h5wasm.Group, to: h5wasm.Group, path: string, edit: Hdf5Edit): void {
  copyAttributes(from, to, path, edit);
  for (const key of from.keys()) {
    const child = from.get(key);
    const childPath = path ? `${path}/${key}` : key;
    if (child instanceof h5wasm.Group) {
      copyGroup(child, to.create_group(key), childPath, edit);
    } else if (child instanceof h5wasm.Dataset) {
      const current = { data: child.value as ArrayLike<number>, shape: child.shape ?? [], dtype: String(child.dtype) };
      const replaced = edit.dataset?.(childPath, current);
      if (replaced === null) continue;
      const content = replaced ?? current;
      const grows = replaced?.resizeTo !== undefined;
      const dataset = to.create_dataset({
        name: key, data: content.data as Float32Array, shape: content.shape, dtype: replaced ? (content.dtype ?? null) : current.dtype,
        ...(grows ? { maxshape: content.shape.map(() => null), chunks: content.shape.map((d) => Math.max(1, d)) } : {}),
      });
      if (grows) dataset.resize(replaced!.resizeTo!);
      copyAttributes(child, dataset, childPath, edit);
    }
  }
}

export async function rewriteHdf5(bytes: Uint8Array, edit: Hdf5Edit): Promise<Uint8Array> {
  const module: Module = await h5wasm.ready;
  const id = ++counter;
  const source = `/rewrite-in-${id}.h5`;
  const target = `/rewrite-out-${id}.h5`;
  module.FS.writeFile(source, bytes);
  const input = new h5wasm.File(source, 'r');
  const output = new h5wasm.File(target, 'w');
  try {
    copyGroup(input, output, '', edit);
  } finally {
    input.close();
    output.close();
  }
  const result = module.FS.readFile(target);
  module.FS.unlink(source);
  module.FS.unlink(target);
  return result;
}

/** Every dataset (path, shape) and attribute (object path, name) of a file, to choose mutation targets from. */
export async function listHdf5(bytes: Uint8Array): Promise<{ datasets: { path: string; shape: number[] }[]; attributes: { path: string; name: string }[] }> {
  const module: Module = await h5wasm.ready;
  const path = `/list-${++counter}.h5`;
  module.FS.writeFile(path, bytes);
  const file = new h5wasm.File(path, 'r');
  const datasets: { path: string; shape: number[] }[] = [];
  const attributes: { path: string; name: string }[] = [];
  const walk = (entity: h5wasm.Group | h5wasm.Dataset, at: string) => {
    for (const name of Object.keys(entity.attrs)) attributes.push({ path: at, name });
    if (!(entity instanceof h5wasm.Group)) return;
    for (const key of entity.keys()) {
      const child = entity.get(key);
      const childPath = at ? `${at}/${key}` : key;
      if (child instanceof h5wasm.Dataset) datasets.push({ path: childPath, shape: child.shape ?? [] });
      if (child instanceof h5wasm.Group || child instanceof h5wasm.Dataset) walk(child, childPath);
    }
  };
  try {
    walk(file, '');
  } finally {
    file.close();
    module.FS.unlink(path);
  }
  return { datasets, attributes };
}
