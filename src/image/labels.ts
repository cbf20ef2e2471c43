/**
 * Class names for a model's outputs, from JSON: an array of names, or an object with a
 * "class_names" array (as weights/fashion_reference.json). weights/imagenet_classes.json holds
 * the 1000 ImageNet names in Keras Applications' index order.
 */
import { ImageError } from '../errors.js';

/**
 * The names in `source` (JSON text, or the parsed value). `name` names the source in messages;
 * with `classes`, a list of another length is refused.
 */
export function classNames(source: unknown, options: { name?: string; classes?: number } = {}): string[] {
  const name = options.name ?? 'class names';
  let parsed = source;
  if (typeof source === 'string') {
    try {
      parsed = JSON.parse(source);
    } catch (e) {
      throw new ImageError(`${name}: not valid JSON (${(e as Error).message})`);
    }
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { class_names?: unknown } | null)?.class_names;
  if (!Array.isArray(list)) throw new ImageError(`${name}: expected a JSON array of class names or an object with a "class_names" array`);
  const bad = list.findIndex((n) => typeof n !== 'string' && typeof n !== 'number');
  if (bad >= 0) throw new ImageError(`${name}: entry ${bad} is ${JSON.stringify(list[bad])}, not a name`);
  if (options.classes !== undefined && list.length !== options.classes) throw new ImageError(`${name}: ${list.length} class names for a model with ${options.classes} classes`);
  return list.map(String);
}
