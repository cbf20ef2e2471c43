// Winograd output transform (see winograd_slots.wgsl): each tile's 2x2 outputs Y = A^T M A
// from its 16 slot products m[slot][tile][channel], four channels at a time, written to the
// NHWC output where inside it. The epilogue is the layer's: bias and activation (forward),
// or the relevance message's multiply by the input a, stored or ACCUMULATEd (TIMES_ACT).
struct Params {
  units: u32, vecs: u32, outH: u32, outW: u32,
  tilesH: u32, tilesW: u32, firstTile: u32, tileCount: u32,
}

//#include stream
//#include winograd_slots
//#include activate_value

@group(0) @binding(0) var<storage, read> m: array<Value>;
@group(0) @binding(1) var<storage, read_write> out: array<Value>;
@group(0) @binding(2) var<uniform> p: Params;
#if ${HAS_BIAS}
@group(0) @binding(3) var<storage, read> bias: array<Value>;
#endif
#if ${TIMES_ACT}
@group(0) @binding(4) var<storage, read> act: array<Value>;
#endif

// One column (or row) of A^T M: A^T = [1 1 1 0; 0 1 -1 -1].
fn outputTransform(m0: Value, m1: Value, m2: Value, m3: Value) -> array<Value, 2> {
  return array<Value, 2>(m0 + m1 + m2, m1 - m2 - m3);
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.units; i += groups.x * ${WG}u) {
    let t = tileValue(i, p.vecs, p.firstTile, p.tilesH, p.tilesW);
    let sample = t.sample * p.outH;
    var cols: array<array<Value, 2>, 4>;
    for (var c = 0u; c < 4u; c++) {
      var column: array<Value, 4>;
      for (var r = 0u; r < 4u; r++) { column[r] = m[(slot(r, c) * p.tileCount + t.local) * p.vecs + t.channel]; }
      cols[c] = outputTransform(column[0], column[1], column[2], column[3]);
    }
    for (var r = 0u; r < 2u; r++) {
      let row = outputTransform(cols[0][r], cols[1][r], cols[2][r], cols[3][r]);
      for (var c = 0u; c < 2u; c++) {
        let y = t.y + r;
        let x = t.x + c;
        if (y >= p.outH || x >= p.outW) { continue; }
        let at = ((sample + y) * p.outW + x) * p.vecs + t.channel;
#if ${TIMES_ACT}
        let message = act[at] * row[c];
#if ${ACCUMULATE}
        out[at] += message;
#else
        out[at] = message;
#endif
#elif ${HAS_BIAS}
        out[at] = activateValue(row[c] + bias[t.channel]);
#else
        out[at] = activateValue(row[c]);
#endif
      }
    }
  }
}
