// R-LRP's relative rescale of one operand's raw message into its input's relevance:
// out (+)= raw * |R_out|_1 / mass per sample (0 where mass is 0), with |R_out|_1 from the stats
// buffer and mass the L1 norm of all `operands` raw messages (one for a linear layer; all of an
// Add's operands for its joint rescale), added up here from their partial sums (l1_norm.wgsl
// PARTIAL: operand k, sample n, part j at pair (k * batch + n) * parts + j); this operand is
// `part`. ACCUMULATE adds to what other consumers sent; otherwise the input has no other
// consumer and the value is stored. REPORT: the input's relevance is then exactly this result,
// so its per-sample (sum |R|, sum R) follow from the norms without another pass over it.
// SELF_NORM (one operand, small tensors): one workgroup per sample sums its raw message itself
// before scaling it, instead of a separate partial-norm pass (a dispatch costs more than the
// second read of a small tensor); it sums R_out (`rel`, scalars) too, for |R_out|_1, and
// stores R_out's (sum |R|, sum R) in slot outSlot, so no pass before it has to.

struct Params { perSample: u32, slots: u32, outSlot: u32, parts: u32, operands: u32, part: u32, reportSlot: u32, relPerSample: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> raw: array<Value>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;
#if ${SELF_NORM}
@group(0) @binding(5) var<storage, read> rel: array<f32>;
#else
@group(0) @binding(4) var<storage, read> partials: array<f32>;

// This thread's share of the (sum |x|, sum x) of operand k's message for sample n: a GPU has
// hundreds of parts per sample, too many for every thread to add up alone.
fn operandNormShare(k: u32, n: u32, batch: u32, lid: u32) -> vec2<f32> {
  var share = vec2(0.0);
  let first = (k * batch + n) * p.parts;
  for (var j = lid; j < p.parts; j += ${WG}u) { share += vec2(partials[(first + j) * 2u], partials[(first + j) * 2u + 1u]); }
  return share;
}
#endif
//#include workgroup_pair_sum

// Workgroup row y is sample n and the x range strides over its Values (perSample counts
// Values), so no thread divides by perSample (integer division is emulated per lane on CPU adapters).
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = gid.y;
  let base = n * p.perSample;
#if ${SELF_NORM}
  var partialOut = vec2(0.0);
  for (var i = lid; i < p.relPerSample; i += ${WG}u) {
    let r = rel[n * p.relPerSample + i];
    partialOut += vec2(abs(r), r);
  }
  var partial = vec2(0.0);
  for (var i = lid; i < p.perSample; i += ${WG}u) {
    let v = raw[base + i];
    partial += normPair(v);
  }
  let outNorm = workgroupPairSum(lid, partialOut);
  let messageNorm = workgroupPairSum(lid, partial);
  let wanted = outNorm.x;
  let mass = messageNorm.x;
  if (lid == 0u) {
    stats[(n * p.slots + p.outSlot) * 2u] = outNorm.x;
    stats[(n * p.slots + p.outSlot) * 2u + 1u] = outNorm.y;
  }
#else
  let wanted = stats[(n * p.slots + p.outSlot) * 2u];
  var massShare = vec2(0.0);
  for (var k = 0u; k < p.operands; k++) { massShare += operandNormShare(k, n, groups.y, lid); }
  let mass = workgroupPairSum(lid, massShare).x;
#if ${REPORT}
  let own = workgroupPairSum(lid, operandNormShare(p.part, n, groups.y, lid));
#endif
#endif
  let empty = mass == 0.0;
#if ${REPORT}
  if (gid.x == 0u) {
#if ${SELF_NORM}
    let own = messageNorm;
#endif
    // |own| / mass <= 1: no overflow, as for the values below.
    stats[(n * p.slots + p.reportSlot) * 2u] = select((own.x / mass) * wanted, 0.0, empty);
    stats[(n * p.slots + p.reportSlot) * 2u + 1u] = select((own.y / mass) * wanted, 0.0, empty);
  }
#endif
  // raw / mass is at most 1 in size, so this cannot overflow even for denormal masses.
  for (var i = gid.x; i < p.perSample; i += groups.x * ${WG}u) {
    let value = select((raw[base + i] / mass) * wanted, Value(0.0), empty);
#if ${ACCUMULATE}
    out[base + i] += value;
#else
    out[base + i] = value;
#endif
  }
}
