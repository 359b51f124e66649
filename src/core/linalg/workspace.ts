/**
 * Float64 work arrays reused across calls: fresh memory costs page faults on every first touch (measured 60 ms per
 * 128 MB here), and the eigen-solver needs the same few large buffers layer after layer. A taken array belongs to the
 * caller until it is given back; the pool keeps at most POOL_BYTES.
 */
const POOL_BYTES = 320 * 2 ** 20;
const pool: Float64Array[] = [];

/** An array of at least `length` elements (contents undefined). */
export function takeWork(length: number): Float64Array {
  let best = -1;
  for (let i = 0; i < pool.length; i++) if (pool[i].length >= length && (best < 0 || pool[i].length < pool[best].length)) best = i;
  if (best >= 0) return pool.splice(best, 1)[0];
  // Nothing fits: the largest smaller array is most likely the one this request outgrows; let it be collected.
  let smaller = -1;
  for (let i = 0; i < pool.length; i++) if (smaller < 0 || pool[i].length > pool[smaller].length) smaller = i;
  if (smaller >= 0) pool.splice(smaller, 1);
  return new Float64Array(length);
}

export function giveWork(...arrays: (Float64Array | undefined)[]): void {
  for (const a of arrays) {
    if (!a || a.length === 0 || pool.some((x) => x.buffer === a.buffer)) continue;
    pool.push(a);
    pool.sort((x, y) => y.length - x.length);
    let bytes = pool.reduce((t, x) => t + x.byteLength, 0);
    // Over the budget: drop the largest first (they are the cheapest to re-create per byte of page faults saved).
    while (bytes > POOL_BYTES && pool.length) bytes -= pool.shift()!.byteLength;
  }
}
