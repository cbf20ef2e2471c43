import { UnknownModelError } from '../errors.js';

/**
 * Keras Applications models that can be loaded by name: where Keras itself downloads their
 * ImageNet weights (include_top=True), under the same file names, with the hashes Keras checks.
 * Read from keras/src/applications/{vgg16,vgg19,resnet,mobilenet}.py (Keras 3.15.1). The weight
 * files are weights-only legacy HDF5, so each architecture comes from weights/zoo/<name>.json
 * (model.to_json(), written by weights/zoo/make_architectures.py).
 */

/** The bucket Keras downloads from; a mirror (RLRP_ZOO_MIRROR) replaces this prefix. */
export const KERAS_APPLICATIONS_BASE = 'https://storage.googleapis.com/tensorflow/keras-applications/';

export type HashAlgorithm = 'md5' | 'sha256';

export interface ZooEntry {
  name: string;
  /** Path under KERAS_APPLICATIONS_BASE (or a mirror). */
  path: string;
  /** File name in the cache folder: the one Keras uses (get_file's fname), so Keras's downloads are reused. */
  fileName: string;
  /** The hash Keras checks, or undefined where Keras checks none (MobileNet). */
  hash?: string;
  /** Preprocessing preset (Keras's preprocess_input mode): caffe = BGR minus the ImageNet mean, tf = [-1, 1]. */
  preset: 'caffe' | 'tf';
  /** Per-sample input shape, NHWC. */
  inputShape: [number, number, number];
  classes: number;
  /** The model's name in its Keras configuration, as keras.applications builds it (weights/zoo/<name>.json). */
  kerasName: string;
}

function entry(name: string, path: string, hash: string | undefined, preset: ZooEntry['preset'], kerasName = name): ZooEntry {
  return { name, path, fileName: path.slice(path.lastIndexOf('/') + 1), hash, preset, inputShape: [224, 224, 3], classes: 1000, kerasName };
}

export const ZOO: ReadonlyMap<string, ZooEntry> = new Map([
  entry('vgg16', 'vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5', '64373286793e3c8b2b4e3219cbf3544b', 'caffe'),
  entry('vgg19', 'vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5', 'cbe5617147190e668d6c5d5026f83318', 'caffe'),
  entry('resnet50', 'resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5', '2cb95161c43110f7111970584f804107', 'caffe'),
  // Keras's get_file for MobileNet passes no file_hash: there is no published hash to check.
  entry('mobilenet', 'mobilenet/mobilenet_1_0_224_tf.h5', undefined, 'tf', 'mobilenet_1.00_224'),
].map((e) => [e.name, e]));

/** The hash algorithm Keras's validate_file picks: sha256 for 64 hex digits, md5 otherwise. */
export function hashAlgorithm(hash: string): HashAlgorithm {
  return hash.length === 64 ? 'sha256' : 'md5';
}

export function zooEntry(name: string): ZooEntry {
  const found = ZOO.get(name.toLowerCase());
  if (!found) throw new UnknownModelError(`unknown model name '${name}'; the models known by name are ${[...ZOO.keys()].join(', ')} (or give a path to a Keras file)`);
  return found;
}

/**
 * The entry for a Keras model of this configuration name (keras.applications names its models
 * so): a model file saved from Keras Applications, whose preprocessing follows from its architecture.
 */
export function zooEntryForKerasName(kerasName: string): ZooEntry | undefined {
  return [...ZOO.values()].find((e) => e.kerasName === kerasName);
}
