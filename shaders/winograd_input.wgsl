// Winograd input transform (see winograd_slots.wgsl): for each 4x4 tile of the NHWC source
// (tiles step by 2, zero outside the image) and four channels, V = B^T d B into
// v[slot][tile][channel], the GEMM operand of each slot. One chunk of tiles per dispatch.
struct Params {
  units: u32, vecs: u32, srcH: u32, srcW: u32,
  tilesH: u32, tilesW: u32, padTop: u32, padLeft: u32,
  firstTile: u32, tileCount: u32, _pad0: u32, _pad1: u32,
}

//#include stream
//#include winograd_slots

@group(0) @binding(0) var<storage, read> src: array<Value>;
@group(0) @binding(1) var<storage, read_write> v: array<Value>;
@group(0) @binding(2) var<uniform> p: Params;

// One column (or row) of B^T d: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
fn inputTransform(d0: Value, d1: Value, d2: Value, d3: Value) -> array<Value, 4> {
  return array<Value, 4>(d0 - d2, d1 + d2, d2 - d1, d1 - d3);
}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = gid.x; i < p.units; i += groups.x * ${WG}u) {
    let t = tileValue(i, p.vecs, p.firstTile, p.tilesH, p.tilesW);
    let y0 = i32(t.y) - i32(p.padTop);
    let x0 = i32(t.x) - i32(p.padLeft);
    let sample = t.sample * p.srcH;
    var d: array<Value, 16>;
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        // Unsigned comparison rejects negative coordinates too.
        let y = u32(y0 + i32(r));
        let x = u32(x0 + i32(c));
        let inside = y < p.srcH && x < p.srcW;
        d[r * 4u + c] = select(Value(), src[select(0u, ((sample + y) * p.srcW + x) * p.vecs + t.channel, inside)], inside);
      }
    }
    var cols: array<array<Value, 4>, 4>;
    for (var c = 0u; c < 4u; c++) { cols[c] = inputTransform(d[c], d[4u + c], d[8u + c], d[12u + c]); }
    for (var r = 0u; r < 4u; r++) {
      let row = inputTransform(cols[0][r], cols[1][r], cols[2][r], cols[3][r]);
      for (var c = 0u; c < 4u; c++) { v[(slot(r, c) * p.tileCount + t.local) * p.vecs + t.channel] = row[c]; }
    }
  }
}
