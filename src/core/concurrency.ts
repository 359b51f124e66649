/**
 * Runs at most `limit` promises at a time: `(await slots.run(fn)).done` waits for a free slot, starts fn and gives
 * its promise (settled later; wrapped, since an awaited promise would flatten); `drain()` waits for everything started. Used to keep an off-thread solver busy without
 * holding more than a few problems in memory.
 */
export class Slots {
  private active = 0;
  private waiting: (() => void)[] = [];
  private readonly started = new Set<Promise<unknown>>();

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<{ done: Promise<T> }> {
    while (this.active >= Math.max(1, this.limit)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    const p = fn().finally(() => {
      this.active--;
      this.started.delete(p);
      this.waiting.shift()?.();
    });
    this.started.add(p);
    p.catch(() => undefined);
    return { done: p };
  }

  /** Settles when every started promise has (rejections included; the caller awaits the promises it keeps). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.started]);
  }
}
