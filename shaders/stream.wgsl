// Memory-bound kernels walk their values in a grid-stride loop over `Value`s: vec4 where the
// count allows (VEC; for NHWC kernels, four consecutive channels), so one load moves four
// values. How many workgroups of what size comes from the adapter (GpuResources.stream): on
// CPU adapters a few small workgroups that each loop long are several times faster than one
// invocation per value. `Index` and `Mask` are the matching u32 and bool shapes, lanes(i)
// the flat scalar indices that Value i holds, and normPair(v) its (sum |x|, sum x). The
// depthwise kernels use Value for their four channels too.
#if ${VEC}
alias Value = vec4<f32>;
alias Index = vec4<u32>;
alias Mask = vec4<bool>;
fn lanes(i: u32) -> Index { return vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u); }
fn normPair(v: Value) -> vec2<f32> { return vec2(dot(abs(v), vec4(1.0)), dot(v, vec4(1.0))); }
#else
alias Value = f32;
alias Index = u32;
alias Mask = bool;
fn lanes(i: u32) -> Index { return i; }
fn normPair(v: Value) -> vec2<f32> { return vec2(abs(v), v); }
#endif
