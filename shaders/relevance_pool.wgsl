// Relevance message of pooling, gathered per input value (or written per window, TILED):
// out[i] = a[i] * sum over the windows covering i of R[o] * w, with w = 1 if i won window o
// (MAX) or 1/(real cells of o) (average; with PLUS only non-negative activations contribute).
// ACCUMULATE adds to out. Counts and C are in Values (VEC: four channels).
// RESCALED (R-LRP, small tensors): the whole step from the layer above in one dispatch, one
// workgroup per sample. `rel` is then the layer above's raw message, not yet rescaled: it is
// divided by its L1 norm here, routed, and the result rescaled to |R_above|_1 (summed from
// `above`, the layer above's output relevance), as the rescale of that layer, this message and
// its own rescale would in three dispatches. Positive scales commute with the routing, so the
// result is the same. The pooled output's relevance (the layer above's rescaled message) is
// stored too, in `pooled`. Stats: R_above's pair into aboveSlot, the pooled output's into
// pooledSlot, and (REPORT) the input's into reportSlot.
// WINNER_VALUES (RESCALED TILED MAX): `act` holds the pooled values, one per window: a winner's
// activation is its window's maximum, and with disjoint windows the message's norm is a sum
// over windows, so no pass over the input is needed to find it.

struct Params {
  total: u32, inH: u32, inW: u32, C: u32,
  outH: u32, outW: u32, KH: u32, KW: u32,
  strideH: u32, strideW: u32, padTop: u32, padLeft: u32,
#if ${RESCALED}
  slots: u32, aboveSlot: u32, pooledSlot: u32, reportSlot: u32,
  abovePerSample: u32, pooledPerSample: u32,
#endif
}

//#include stream

@group(0) @binding(0) var<storage, read> rel: array<Value>;
@group(0) @binding(1) var<storage, read> act: array<Value>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;
#if ${MAX}
@group(0) @binding(4) var<storage, read> winner: array<Index>;
#endif
#if ${RESCALED}
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<storage, read> above: array<f32>;
@group(0) @binding(7) var<storage, read_write> pooled: array<Value>;

// A first pass over the messages only sums them (storing false), unless WINNER_VALUES finds
// their norm from the windows; the storing pass rescales them with the sample's raw norm
// (rawMass), the messages' norm (mass) and the target |R|_1 (wanted).
var<private> storing = false;
var<private> massShare = vec2(0.0);
var<private> rawMass = 0.0;
var<private> mass = 0.0;
var<private> wanted = 0.0;

//#include workgroup_pair_sum
#endif

//#include nhwc_index

// Windows start at o*stride - pad; those covering position i satisfy o*stride - pad <= i < o*stride - pad + K.
fn firstWindow(i: u32, pad: u32, k: u32, stride: u32) -> u32 {
  let hi = i + pad;
  return select(0u, (hi - k + 1u + stride - 1u) / stride, hi + 1u > k);
}

// out[i] (+)= a * w: input i's message, given its activation a and the weighted relevance w that reaches it.
fn send(i: u32, a: Value, w: Value) {
#if ${RESCALED}
  // w / rawMass is at most the number of windows covering i in size: no overflow.
  let weight = select(w / rawMass, Value(0.0), rawMass == 0.0);
#else
  let weight = w;
#endif
#if ${PLUS}
  // R-LRP+ average pooling: a+ W+ + a- W- with W = 1/k > 0 is a+ W.
  let message = max(a, Value(0.0)) * weight;
#else
  let message = a * weight;
#endif
#if ${RESCALED}
  if (!storing) {
    massShare += normPair(message);
    return;
  }
  let value = select((message / mass) * wanted, Value(0.0), mass == 0.0);
#else
  let value = message;
#endif
#if ${ACCUMULATE}
  out[i] += value;
#else
  out[i] = value;
#endif
}

// Cells of window o (start o*stride - pad, length k) inside [0, n).
fn realCells(o: u32, pad: u32, k: u32, stride: u32, n: u32) -> u32 {
  let start = i32(o * stride) - i32(pad);
  return u32(min(start + i32(k), i32(n)) - max(start, 0));
}

#if ${TILED}
// Windows that tile the input exactly (kernel = stride, no padding, no remainder: 2x2 pooling of
// even sizes): each input lies in one window, so one invocation per window Value (`total`
// counts outputs here) writes all its cells, with a fraction of the index arithmetic (integer
// division is emulated per lane on CPU adapters).
fn route(index: u32) {
  let at = nhwc(index, p.outH, p.outW, p.C);
  let r = rel[index];
#if ${MAX}
  let won = winner[index];
#else
  let share = r / f32(p.KH * p.KW);
#endif
#if ${WINNER_VALUES}
  let maximum = act[index];
#endif
  for (var ky = 0u; ky < p.KH; ky++) {
    for (var kx = 0u; kx < p.KW; kx++) {
      let i = ((at.x * p.inH + at.y * p.KH + ky) * p.inW + at.z * p.KW + kx) * p.C + at.w;
#if ${WINNER_VALUES}
      send(i, maximum, select(Value(0.0), r, won == lanes(i)));
#elif ${MAX}
      send(i, act[i], select(Value(0.0), r, won == lanes(i)));
#else
      send(i, act[i], share);
#endif
    }
  }
}
#else
fn route(index: u32) {
  let at = nhwc(index, p.inH, p.inW, p.C);
  var acc = Value(0.0);
  let oyLast = min((at.y + p.padTop) / p.strideH, p.outH - 1u);
  let oxLast = min((at.z + p.padLeft) / p.strideW, p.outW - 1u);
  for (var oy = firstWindow(at.y, p.padTop, p.KH, p.strideH); oy <= oyLast; oy++) {
    for (var ox = firstWindow(at.z, p.padLeft, p.KW, p.strideW); ox <= oxLast; ox++) {
      let o = ((at.x * p.outH + oy) * p.outW + ox) * p.C + at.w;
#if ${MAX}
      acc += select(Value(0.0), rel[o], winner[o] == lanes(index));
#else
      let cells = realCells(oy, p.padTop, p.KH, p.strideH, p.inH) * realCells(ox, p.padLeft, p.KW, p.strideW, p.inW);
      acc += rel[o] / f32(cells);
#endif
    }
  }
  send(index, act[index], acc);
}
#endif

#if ${RESCALED}
// Workgroup y is sample n; `total` counts one sample's Values (windows when TILED).
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.y;
  var aboveShare = vec2(0.0);
  for (var i = lid; i < p.abovePerSample; i += ${WG}u) {
    let r = above[n * p.abovePerSample + i];
    aboveShare += vec2(abs(r), r);
  }
  var rawShare = vec2(0.0);
  for (var i = lid; i < p.pooledPerSample; i += ${WG}u) { rawShare += normPair(rel[n * p.pooledPerSample + i]); }
  let aboveNorm = workgroupPairSum(lid, aboveShare);
  let rawNorm = workgroupPairSum(lid, rawShare);
  rawMass = rawNorm.x;
  // The pooled output's relevance: the raw message scaled to |R_above|_1.
  wanted = select(aboveNorm.x, 0.0, rawMass == 0.0);
  for (var i = n * p.pooledPerSample + lid; i < (n + 1u) * p.pooledPerSample; i += ${WG}u) {
    let r = select(rel[i] / rawMass, Value(0.0), rawMass == 0.0);
    pooled[i] = r * wanted;
#if ${WINNER_VALUES}
    massShare += normPair(act[i] * r);
#endif
  }
  let first = n * p.total + lid;
#if ${WINNER_VALUES}
#else
  for (var index = first; index < first - lid + p.total; index += ${WG}u) { route(index); }
#endif
  let messageNorm = workgroupPairSum(lid, massShare);
  mass = messageNorm.x;
  storing = true;
  for (var index = first; index < first - lid + p.total; index += ${WG}u) { route(index); }
  if (lid == 0u) {
    let row = n * p.slots;
    stats[(row + p.aboveSlot) * 2u] = aboveNorm.x;
    stats[(row + p.aboveSlot) * 2u + 1u] = aboveNorm.y;
    // |own| / mass <= 1: no overflow.
    stats[(row + p.pooledSlot) * 2u] = wanted;
    stats[(row + p.pooledSlot) * 2u + 1u] = select((rawNorm.y / rawMass) * wanted, 0.0, rawMass == 0.0);
#if ${REPORT}
    stats[(row + p.reportSlot) * 2u] = select(wanted, 0.0, mass == 0.0);
    stats[(row + p.reportSlot) * 2u + 1u] = select((messageNorm.y / mass) * wanted, 0.0, mass == 0.0);
#endif
  }
}
#else
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var index = gid.x; index < p.total; index += groups.x * ${WG}u) { route(index); }
}
#endif
