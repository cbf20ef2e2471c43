/**
 * Activation memory planning: tensors whose lifetimes do not overlap share a buffer slot.
 * Lifetimes are step indices (inclusive); `end = Infinity` keeps a tensor to the end.
 */
export interface TensorLife {
  id: number;
  bytes: number;
  start: number;
  end: number;
}

export interface MemoryPlan {
  slotOf: Map<number, number>;
  slotBytes: number[];
}

export function planMemory(tensors: TensorLife[]): MemoryPlan {
  const slotOf = new Map<number, number>();
  const slotBytes: number[] = [];
  const busyUntil: number[] = [];
  for (const t of [...tensors].sort((a, b) => a.start - b.start || b.bytes - a.bytes)) {
    const free = slotBytes.map((_, s) => s).filter((s) => busyUntil[s] < t.start);
    // Best fit among free slots big enough; otherwise grow the largest free slot; otherwise a new one.
    const fitting = free.filter((s) => slotBytes[s] >= t.bytes).sort((a, b) => slotBytes[a] - slotBytes[b]);
    let slot = fitting[0] ?? free.sort((a, b) => slotBytes[b] - slotBytes[a])[0];
    if (slot === undefined) {
      slot = slotBytes.length;
      slotBytes.push(0);
      busyUntil.push(-Infinity);
    }
    slotBytes[slot] = Math.max(slotBytes[slot], t.bytes);
    busyUntil[slot] = t.end;
    slotOf.set(t.id, slot);
  }
  return { slotOf, slotBytes };
}
