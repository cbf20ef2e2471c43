/** Errors raised for bad input; each message names the file, layer or value at fault. */

/** Base of every error this library raises on purpose. */
export class RlrpError extends Error {}

/** A corrupt, truncated or non-Keras file, or weights that do not fit the architecture. */
export class ModelFormatError extends RlrpError {
  override name = 'ModelFormatError';
}

/** A layer, option or model structure the engine does not implement. */
export class UnsupportedLayerError extends RlrpError {
  override name = 'UnsupportedLayerError';
}

/** An input (or a layer's input) of the wrong shape or with non-finite values. */
export class InputShapeError extends RlrpError {
  override name = 'InputShapeError';
}

/** No adapter, a lost device, a validation or out-of-memory error, a limit exceeded. */
export class GpuError extends RlrpError {
  override name = 'GpuError';
}

/** An input value that is NaN or infinite (an InputShapeError, so existing handlers still catch it). */
export class InputValueError extends InputShapeError {
  override name = 'InputValueError';
}

/**
 * The model's float32 arithmetic produced NaN or Infinity on this input (weights or inputs
 * too large for float32): no logits or heatmap are returned rather than NaN ones.
 */
export class NumericalError extends RlrpError {
  override name = 'NumericalError';
}

/** A call on a model after `dispose()`. */
export class DisposedError extends RlrpError {
  override name = 'DisposedError';
}

/** A model weights download that failed: network, HTTP status, interrupted transfer or hash mismatch. */
export class DownloadError extends RlrpError {
  override name = 'DownloadError';
}

/** A model name that the zoo does not know. */
export class UnknownModelError extends RlrpError {
  override name = 'UnknownModelError';
}

/** An image that cannot be read (unknown format, truncated or corrupt, absurd size), a bad image or heatmap option, or class names that do not fit. */
export class ImageError extends RlrpError {
  override name = 'ImageError';
}
