// R-LRP's whole step through a two-operand Add of a small tensor, in one dispatch of one
// workgroup per sample (instead of norms of R_out and of each operand's split, and a rescale
// per operand):
//   R_k = share(u_k) * R_out (add_share.wgsl), then out_k (+)= R_k * |R_out|_1 / (|R_0|_1 + |R_1|_1)
// (0 where that sum is 0). The shares are computed twice, once for the norms and once for the
// result, since re-reading a small tensor costs less than a dispatch. The total of the ratio and
// R-LRP+ splits comes from the operands themselves (y = u_0 + u_1, as the forward pass adds them).
// ACCUMULATE_k adds to what other consumers sent to operand k; REPORT_k: out_k is then exactly
// this result, so its (sum |R|, sum R) go to stats slot reportSlot_k. R_out's own (sum |R|,
// sum R) are summed here too and stored in slot outSlot.

struct Params { perSample: u32, slots: u32, outSlot: u32, reportSlot0: u32, reportSlot1: u32, _pad0: u32, _pad1: u32, _pad2: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> rel: array<Value>;
@group(0) @binding(1) var<storage, read> u0: array<Value>;
@group(0) @binding(2) var<storage, read> u1: array<Value>;
@group(0) @binding(3) var<storage, read_write> out0: array<Value>;
@group(0) @binding(4) var<storage, read_write> out1: array<Value>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

//#include add_share
//#include workgroup_pair_sum

// The two operands' raw messages at Value i.
fn messages(i: u32) -> array<Value, 2> {
  let a = u0[i];
  let b = u1[i];
#if ${PLUS}
  let total = max(a, Value(0.0)) + max(b, Value(0.0));
#else
  let total = a + b;
#endif
  let even = Value(0.5);
  let r = rel[i];
  return array<Value, 2>(addShare(a, total, even) * r, addShare(b, total, even) * r);
}

fn report(slot: u32, n: u32, norm: vec2<f32>, scale: f32) {
  stats[(n * p.slots + slot) * 2u] = norm.x * scale;
  stats[(n * p.slots + slot) * 2u + 1u] = norm.y * scale;
}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = wid.y;
  let base = n * p.perSample;
  var partialOut = vec2(0.0);
  var partial0 = vec2(0.0);
  var partial1 = vec2(0.0);
  for (var i = lid; i < p.perSample; i += ${WG}u) {
    let r = rel[base + i];
    let m = messages(base + i);
    partialOut += normPair(r);
    partial0 += normPair(m[0]);
    partial1 += normPair(m[1]);
  }
  let normOut = workgroupPairSum(lid, partialOut);
  let norm0 = workgroupPairSum(lid, partial0);
  let norm1 = workgroupPairSum(lid, partial1);
  let mass = norm0.x + norm1.x;
  let wanted = normOut.x;
  // x / mass is at most 1 in size for every term below: no overflow even for denormal masses.
  let empty = mass == 0.0;
  if (lid == 0u) {
    report(p.outSlot, n, normOut, 1.0);
#if ${REPORT_0}
    report(p.reportSlot0, n, select(norm0 / mass, vec2(0.0), empty), wanted);
#endif
#if ${REPORT_1}
    report(p.reportSlot1, n, select(norm1 / mass, vec2(0.0), empty), wanted);
#endif
  }
  for (var i = lid; i < p.perSample; i += ${WG}u) {
    let m = messages(base + i);
    let r0 = select((m[0] / mass) * wanted, Value(0.0), empty);
    let r1 = select((m[1] / mass) * wanted, Value(0.0), empty);
#if ${ACCUMULATE_0}
    out0[base + i] += r0;
#else
    out0[base + i] = r0;
#endif
#if ${ACCUMULATE_1}
    out1[base + i] += r1;
#else
    out1[base + i] = r1;
#endif
  }
}
