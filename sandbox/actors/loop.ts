// A controller loop: runs `work` every `delayMs` (short, so tests run fast), never overlapping, and
// lets callers wait for a full cycle that started after they asked (used by settle()). While nothing
// changes it backs off (doubling up to `maxDelayMs`) so an idle sandbox does not burn a core;
// wake() (called on every store write, tag push and settle) brings it back to full speed at once.

export class ControllerLoop {
  private timer: NodeJS.Timeout | undefined
  private started = 0
  private completed = 0
  private stopped = false
  private running = false
  private current: Promise<void> | undefined
  private waiters: { target: number; resolve: () => void }[] = []
  private delay: number
  /** something happened since the last cycle started: the next one comes after the base delay */
  private woken = false
  private readonly maxDelayMs: number

  constructor(
    readonly name: string,
    private readonly delayMs: number,
    private readonly work: () => Promise<void>,
    private readonly onError: (name: string, err: unknown) => void,
    maxDelayMs = delayMs * 20,
  ) {
    this.delay = delayMs
    this.maxDelayMs = Math.max(delayMs, maxDelayMs)
  }

  start(): void {
    this.schedule(0)
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.current = this.run()
    }, ms)
  }

  private async run(): Promise<void> {
    this.started++
    this.running = true
    this.woken = false
    try {
      await this.work()
    } catch (err) {
      this.onError(this.name, err)
    } finally {
      this.running = false
      this.completed++
      this.waiters = this.waiters.filter((w) => (this.completed >= w.target ? (w.resolve(), false) : true))
      // idle (nothing woke it during the cycle): wait longer next time
      this.delay = this.woken ? this.delayMs : Math.min(this.delay * 2, this.maxDelayMs)
      this.schedule(this.delay)
    }
  }

  /** Something changed: run the next cycle after the base delay, not the backed-off one. */
  wake(): void {
    this.woken = true
    if (this.stopped || this.running || this.delay === this.delayMs) return
    this.delay = this.delayMs
    this.schedule(this.delayMs)
  }

  /** Resolves when a cycle that starts after this call has completed. */
  nextCycle(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    const target = this.started + 1
    const done = new Promise<void>((resolve) => this.waiters.push({ target, resolve }))
    this.wake()
    return done
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.current
    for (const w of this.waiters) w.resolve()
    this.waiters = []
  }
}
