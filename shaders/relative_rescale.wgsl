// R-LRP's relative rescale of one operand's raw message into its input's relevance:
// out (+)= raw * |R_out|_1 / mass per sample (0 where mass is 0), where mass is the sum of the
// L1 norms in `rawSlots` consecutive stats slots from `rawSlot` (one for a linear layer; all
// of an Add's operands for its joint rescale) and this operand's own norm is in slot
// rawSlot + part. ACCUMULATE adds to what other consumers sent; otherwise the input has no
// other consumer and the value is stored. REPORT: the input's relevance is then exactly this
// result, so its per-sample (sum |R|, sum R) follow from the norms without another pass over it.

struct Params { perSample: u32, slots: u32, outSlot: u32, rawSlot: u32, rawSlots: u32, part: u32, reportSlot: u32, _pad: u32 }

//#include stream

@group(0) @binding(0) var<storage, read> raw: array<Value>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<Value>;
@group(0) @binding(3) var<uniform> p: Params;

// Workgroup row y is sample n and the x range strides over its Values (perSample counts
// Values), so no thread divides by perSample (integer division is emulated per lane on CPU adapters).
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let n = gid.y;
  let row = n * p.slots;
  let wanted = stats[(row + p.outSlot) * 2u];
  var mass = 0.0;
  for (var k = 0u; k < p.rawSlots; k++) { mass += stats[(row + p.rawSlot + k) * 2u]; }
  let empty = mass == 0.0;
#if ${REPORT}
  if (gid.x == 0u) {
    // |own| / mass <= 1: no overflow, as for the values below.
    let own = (row + p.rawSlot + p.part) * 2u;
    stats[(row + p.reportSlot) * 2u] = select((stats[own] / mass) * wanted, 0.0, empty);
    stats[(row + p.reportSlot) * 2u + 1u] = select((stats[own + 1u] / mass) * wanted, 0.0, empty);
  }
#endif
  // raw / mass is at most 1 in size, so this cannot overflow even for denormal masses.
  let base = n * p.perSample;
  for (var i = gid.x; i < p.perSample; i += groups.x * ${WG}u) {
    let value = select((raw[base + i] / mass) * wanted, Value(0.0), empty);
#if ${ACCUMULATE}
    out[base + i] += value;
#else
    out[base + i] = value;
#endif
  }
}
