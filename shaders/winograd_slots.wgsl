// Winograd F(2x2, 3x3) (Lavin & Gray): a 3x3 correlation of a 4x4 input tile d with g gives
// the 2x2 outputs Y = A^T [(G g G^T) . (B^T d B)] A, 16 multiplies in place of 36. The 16
// positions of the transformed tile are "slots"; each slot is one GEMM over channels.
// The transposed convolution (relevance) correlates with the flipped kernel J g J, and since
// G J = P G with P swapping indices 0 and 3, G (J g J) G^T = P U P: the same transformed
// kernel U serves both directions when FLIP stores position (r, c) in slot (P r, P c) on the
// way in and reads it from there on the way out.
#if ${FLIP}
const SLOT_OF = array<u32, 4>(3u, 1u, 2u, 0u);
#else
const SLOT_OF = array<u32, 4>(0u, 1u, 2u, 3u);
#endif

fn slot(r: u32, c: u32) -> u32 {
  return SLOT_OF[r] * 4u + SLOT_OF[c];
}

// Where stream Value i of a chunk lies: its tile in the chunk, its four channels, the tile's
// sample and the top-left corner of its 2x2 outputs (tiles count batch-first over the grid).
struct TileValue { local: u32, channel: u32, sample: u32, y: u32, x: u32 }

fn tileValue(i: u32, vecs: u32, firstTile: u32, tilesH: u32, tilesW: u32) -> TileValue {
  let local = i / vecs;
  let tile = firstTile + local;
  let rest = tile / tilesW;
  return TileValue(local, i % vecs, rest / tilesH, (rest % tilesH) * 2u, (tile % tilesW) * 2u);
}
