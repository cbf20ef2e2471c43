/**
 * `--image` arguments to image files: a file, a folder (its PNG and JPEG files, hidden ones left
 * out), or a glob with `*` and `?` in any path segment (Node 20 has no fs.glob). Each file gets
 * a name relative to where its argument starts (the folder, or the glob's fixed prefix), which
 * names its outputs.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { ImageError } from '../errors.js';

export interface ImageFile {
  path: string;
  /** Path relative to its argument's folder ('/'-separated), e.g. 'cat.jpg' or 'pets/cat.jpg'. */
  relative: string;
}

const IMAGE_EXTENSIONS = /\.(png|jpe?g)$/i;

const isGlob = (text: string) => /[*?]/.test(text);

/** A glob segment as a regular expression: `*` any run of characters but '/', `?` one of them. */
function segmentPattern(segment: string): RegExp {
  const body = [...segment].map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

const isDirectory = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;

/** Files matching a glob, sorted; hidden entries only where the segment itself starts with '.'. */
function expandGlob(pattern: string): ImageFile[] {
  const segments = pattern.split(/[/\\]/);
  const fixed = segments.findIndex(isGlob);
  const base = segments.slice(0, fixed).join('/') || (pattern.startsWith('/') ? '/' : '.');
  let paths = [base];
  segments.slice(fixed).forEach((segment, i, rest) => {
    const last = i === rest.length - 1;
    paths = paths.flatMap((dir) => {
      if (!isGlob(segment)) return [join(dir, segment)];
      if (!isDirectory(dir)) return [];
      const re = segmentPattern(segment);
      return readdirSync(dir).filter((n) => re.test(n) && (segment.startsWith('.') || !n.startsWith('.'))).sort().map((n) => join(dir, n));
    }).filter((p) => (last ? statSync(p, { throwIfNoEntry: false })?.isFile() === true : isDirectory(p)));
  });
  if (paths.length === 0) throw new ImageError(`no files match '${pattern}'`);
  return paths.map((path) => ({ path, relative: relative(base, path).split(/[/\\]/).join('/') }));
}

function listFolder(folder: string): ImageFile[] {
  const names = readdirSync(folder).filter((n) => IMAGE_EXTENSIONS.test(n) && !n.startsWith('.') && statSync(join(folder, n)).isFile()).sort();
  if (names.length === 0) throw new ImageError(`${folder}: no PNG or JPEG files in this folder`);
  return names.map((n) => ({ path: join(folder, n), relative: n }));
}

/**
 * The image files the arguments name, in order, without duplicates. `batch` is true unless the
 * arguments are one plain file path: a folder, a glob or several arguments make a batch.
 */
export function imageFiles(args: string[]): { files: ImageFile[]; batch: boolean } {
  const files = args.flatMap((arg): ImageFile[] => {
    if (isGlob(arg)) return expandGlob(arg);
    const stat = statSync(arg, { throwIfNoEntry: false });
    if (!stat) throw new ImageError(`${arg}: no such image file or folder`);
    return stat.isDirectory() ? listFolder(arg) : [{ path: arg, relative: basename(arg) }];
  });
  const seen = new Set<string>();
  const unique = files.filter((f) => !seen.has(f.path) && seen.add(f.path));
  return { files: unique, batch: args.length > 1 || !statSync(args[0], { throwIfNoEntry: false })?.isFile() };
}
