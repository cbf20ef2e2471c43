// Shared index arithmetic for one-thread-per-value kernels: the flat invocation index of a
// dispatch folded into (x, y) past the per-dimension workgroup limit, and NHWC coordinates.
fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * ${WG}u;
}

// (n, y, x, c) of a flat index into a tensor of H x W x C per sample.
fn nhwc(index: u32, H: u32, W: u32, C: u32) -> vec4<u32> {
  let c = index % C;
  let rest = index / C;
  return vec4<u32>(rest / (W * H), (rest / W) % H, rest % W, c);
}
