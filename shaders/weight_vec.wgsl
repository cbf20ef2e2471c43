// How a GEMM kernel reads its weights: WEIGHT_VEC four consecutive values as one vec4 (else one
// f32), stored as f32 or, with F16, as f16 and widened on load (the including kernel enables
// f16 itself: `enable` must come before every declaration).
#if ${WEIGHT_VEC}
alias WeightVec = vec4<f32>;
const WEIGHT_WIDTH = 4u;
#if ${F16}
alias StoredWeight = vec4<f16>;
#else
alias StoredWeight = vec4<f32>;
#endif
#else
alias WeightVec = f32;
const WEIGHT_WIDTH = 1u;
#if ${F16}
alias StoredWeight = f16;
#else
alias StoredWeight = f32;
#endif
#endif
