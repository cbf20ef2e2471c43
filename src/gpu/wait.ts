const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Dawn's Node binding spins the event loop while a map is pending; browsers wait without. */
const pendingMapsSpin = typeof process !== 'undefined' && !!process.versions?.node;

/** How long one probe lets a map complete before cancelling it, and the longest sleep between probes. */
const PROBE_MS = 2;
const MAX_PAUSE_MS = 50;

/**
 * Maps `buffers` for reading once the queue's work is done, after sleeping through
 * `expectedMs`. In Node a pending map keeps Dawn's binding polling, and on a CPU adapter that
 * takes a core from the work itself: so when the work is long enough to matter (`expectedMs`
 * at least `minProbingMs`, or unknown), the wait is a series of short probes (a map given
 * PROBE_MS to complete, else cancelled by unmap) between growing sleeps. The JS thread then
 * stays asleep for all but a few milliseconds however wrong the estimate, and ends at most
 * MAX_PAUSE_MS after the work.
 */
export async function mapWhenDone(buffers: GPUBuffer[], expectedMs: number | undefined, minProbingMs = 20): Promise<void> {
  if (expectedMs) await delay(expectedMs);
  const mapAll = () => buffers.map((b) => b.mapAsync(GPUMapMode.READ));
  if (!pendingMapsSpin || buffers.length === 0 || (expectedMs !== undefined && expectedMs < minProbingMs)) {
    await Promise.all(mapAll());
    return;
  }
  for (let pause = Math.max(PROBE_MS, 0.05 * (expectedMs ?? 0)); ; pause = Math.min(2 * pause, MAX_PAUSE_MS)) {
    const maps = mapAll();
    // A rejection other than the cancellation below (a lost device) ends the wait with it.
    const done = await Promise.race([Promise.all(maps).then(() => true), delay(PROBE_MS).then(() => false)]);
    if (done) return;
    for (const buffer of buffers) buffer.unmap();
    await Promise.allSettled(maps);
    await delay(pause);
  }
}
