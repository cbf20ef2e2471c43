import * as h5wasm from 'h5wasm';
const m = await h5wasm.ready;
import { readFileSync } from 'node:fs';
m.FS.writeFile('/a.h5', readFileSync(process.argv[2]));
const f = new h5wasm.File('/a.h5', 'r');
function walk(g, p, depth) {
  for (const [k, a] of Object.entries(g.attrs)) { const v = a.value; console.log(' '.repeat(depth), '@', k, a.dtype, a.shape, typeof v === 'string' ? v.slice(0, 60) : Array.isArray(v) ? v.slice(0,3) : v?.constructor?.name); }
  if (!(g instanceof h5wasm.Group)) return;
  for (const k of g.keys()) {
    const e = g.get(k);
    if (e instanceof h5wasm.Dataset) { console.log(' '.repeat(depth), k, e.dtype, e.shape, JSON.stringify(e.filters), e.metadata.chunks, e.metadata.total_size, e.metadata.size); walk(e, '', depth+1); }
    else if (e instanceof h5wasm.Group) { console.log(' '.repeat(depth), k + '/'); walk(e, p + '/' + k, depth + 1); }
    else console.log(' '.repeat(depth), k, e?.constructor?.name);
  }
}
walk(f, '', 0);
