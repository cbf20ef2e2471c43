export { Model, type LoadOptions, type ModelInfo, type Prediction } from './model.js';
export { acquireGpu, type Gpu, type GpuOptions } from './gpu/device.js';
export { loadGraph, type GraphLoadOptions } from './graph/from-keras.js';
export { readKerasModel, type KerasModel, type KerasFormat } from './keras/load.js';
export type { ByteSource } from './keras/source.js';
export type { Graph, GraphNode, Shape } from './graph/ir.js';
export { parseNpy, formatNpy, type NpyArray, NpyError } from './io/npy.js';
export { RlrpError, ModelFormatError, UnsupportedLayerError, InputShapeError, GpuError, DownloadError, UnknownModelError } from './errors.js';
export { SUPPORTED_LAYERS } from './graph/build.js';
