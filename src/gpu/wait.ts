const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Dawn's Node binding spins the event loop while a map is pending; browsers wait without. */
const pendingMapsSpin = typeof process !== 'undefined' && !!process.versions?.node;

/** How long one probe lets a map complete before cancelling it, and the longest sleep between probes. */
const PROBE_MS = 2;
const MAX_PAUSE_MS = 50;

/** A paced wait's nap between two of the binding's polls (pacedMaps). */
const NAP_MS = 0.2;
// Made on first use: a page that is not cross-origin isolated has no SharedArrayBuffer.
let napCell: Int32Array | undefined;

/**
 * Awaits `maps` with the JS thread asleep for NAP_MS between two of the binding's polls (each
 * one setImmediate turn): polling back to back takes a whole core, which a CPU adapter's
 * threads need. The maps are still seen within NAP_MS of completing.
 */
async function pacedMaps(maps: Promise<void>[]): Promise<void> {
  let done = false;
  const cell = (napCell ??= new Int32Array(new SharedArrayBuffer(4)));
  const nap = () => {
    if (done) return;
    Atomics.wait(cell, 0, 0, NAP_MS);
    setImmediate(nap);
  };
  setImmediate(nap);
  try {
    await Promise.all(maps);
  } finally {
    done = true;
  }
}

/**
 * Maps `buffers` for reading once the queue's work is done, after sleeping through
 * `expectedMs`; a wait at once is `paced` (pacedMaps) where the caller expects work of
 * PACE_FROM_MS or more. In Node a pending map keeps Dawn's binding polling, and on a CPU adapter that
 * takes a core from the work itself: so when the work is long enough to matter (`expectedMs`
 * at least `minProbingMs`, or unknown), the wait is a series of short probes (a map given
 * PROBE_MS to complete, else cancelled by unmap) between growing sleeps. The JS thread then
 * stays asleep for all but a few milliseconds however wrong the estimate, and ends at most
 * MAX_PAUSE_MS after the work. Returns the milliseconds waited after the sleep: under a
 * millisecond when the work had ended before the sleep did.
 */
export async function mapWhenDone(buffers: GPUBuffer[], expectedMs: number | undefined, minProbingMs = POLL_BELOW_MS, paced = false): Promise<number> {
  if (expectedMs) await delay(expectedMs);
  const awake = performance.now();
  const mapAll = () => buffers.map((b) => b.mapAsync(GPUMapMode.READ));
  if (!pendingMapsSpin || buffers.length === 0 || (expectedMs !== undefined && expectedMs < minProbingMs)) {
    await (pendingMapsSpin && paced ? pacedMaps(mapAll()) : Promise.all(mapAll()));
    return performance.now() - awake;
  }
  for (let pause = Math.max(PROBE_MS, 0.05 * (expectedMs ?? 0)); ; pause = Math.min(2 * pause, MAX_PAUSE_MS)) {
    const maps = mapAll();
    // A rejection other than the cancellation below (a lost device) ends the wait with it.
    const done = await Promise.race([Promise.all(maps).then(() => true), delay(PROBE_MS).then(() => false)]);
    if (done) return performance.now() - awake;
    for (const buffer of buffers) buffer.unmap();
    await Promise.allSettled(maps);
    await delay(pause);
  }
}

/** A wait after the sleep shorter than this means the outputs were ready when it ended. */
const OVERSLEPT_MS = 1;

/**
 * Runs expected to take less than this are waited for at once. Sleeping through a short run
 * costs more than the core the polling takes: the timer wakes late, and on a CPU adapter the
 * adapter's own threads wake slower from idle cores, so the run itself takes longer (lavapipe,
 * 2 cores: fashion_cnn calls 5.1 -> 2.7 ms; fashion_resnet's outputs mapped after 8 ms polling,
 * 13-21 ms sleeping). Around 15 ms the two ways cost about the same (fashion_resnet at batch 2:
 * 14.9 ms sleeping, 15.9 ms polling); beyond, the polled core slows the work more (batch 4:
 * 20.7 and 25.5 ms).
 */
export const POLL_BELOW_MS = 20;

/**
 * Runs expected to take at least this long (and less than POLL_BELOW_MS) are waited for with
 * paced polling. Lavapipe, 2 cores, separate processes: fashion_cnn at batch 8 (about 8 ms)
 * 8.1-9.1 -> 7.0-7.7 ms per call, batch 4 5.5 -> 4.3-5.4 ms; at batch 1 (2.5 ms) napping made
 * calls slower, 2.5-2.9 -> 3.4-4.3 ms: the adapter's threads wake slower from a core left idle.
 */
export const PACE_FROM_MS = 4;

/**
 * Whether a run estimated at `estimateMs` and waited for at once gets paced polling
 * (mapWhenDone): on a CPU adapter, whose threads need the core. A GPU's run only waits longer.
 */
export function pacesPolling(estimateMs: number, cpuAdapter: boolean): boolean {
  return cpuAdapter && estimateMs >= PACE_FROM_MS;
}

/** Near POLL_BELOW_MS (up to twice it), one run in this many is polled for rather than slept through. */
export const POLL_TRIAL_EVERY = 8;

/**
 * How long to sleep through work estimated at `estimateMs` (nextEstimate), for the `run`-th
 * run of a model: not at all where a pending map does not poll (browsers), or for a short run.
 * Sleeping slows a short run itself (the adapter's threads wake from idle cores), which could
 * hold its estimate above POLL_BELOW_MS for good: near it, every POLL_TRIAL_EVERY-th run is
 * polled for, and the estimate then follows that run's time, below the threshold or not.
 */
export function sleepFor(estimateMs: number, run = 1): number {
  if (!pendingMapsSpin || estimateMs < POLL_BELOW_MS) return 0;
  if (estimateMs < 2 * POLL_BELOW_MS && run % POLL_TRIAL_EVERY === 0) return 0;
  return 0.95 * estimateMs;
}

/**
 * The next estimate of a run, from the last one (undefined for none), the time until its outputs
 * were mapped, the part of that spent waiting after the sleep (mapWhenDone's result) and the
 * adapter's timestamps of its passes where it has them. The time until mapped, not the
 * timestamps: those miss the work around the passes (lavapipe starting, copies, resolves: 3 of
 * fashion_resnet's 14 ms), and a sleep that ends early polls on a core the passes need. Outputs
 * ready as soon as the sleep ended mean it was too long by an unknown amount (a late timer
 * included): the estimate shrinks instead, a little, or down to the passes' own time (a floor of
 * the work) at up to half per run: a first run far slower than the next ones (an H100's ResNet50
 * slept 59 ms through 13 ms of work after 25 calls at a twentieth per run) is soon forgotten. It
 * grows by at most a quarter per run, so one slow run (the host's hiccup) does not lengthen the
 * sleeps after it.
 */
export function nextEstimate(lastMs: number | undefined, mappedAfterMs: number, afterSleepMs: number, passesMs?: number): number {
  if (lastMs === undefined) return mappedAfterMs;
  if (afterSleepMs < OVERSLEPT_MS) return passesMs === undefined ? 0.95 * lastMs : Math.min(0.95 * lastMs, Math.max(passesMs, 0.5 * lastMs));
  return Math.min(mappedAfterMs, 1.25 * lastMs);
}
