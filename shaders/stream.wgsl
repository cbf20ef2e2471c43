// Memory-bound kernels walk their values in a grid-stride loop over `Value`s: vec4 where the
// count allows (VEC), so one load moves four values. How many workgroups of what size comes
// from the adapter (GpuResources.stream): on CPU adapters a few small workgroups that each
// loop long are several times faster than one invocation per value.
#if ${VEC}
alias Value = vec4<f32>;
#else
alias Value = f32;
#endif
