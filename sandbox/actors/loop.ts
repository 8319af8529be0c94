// A controller loop: runs `work` every `delayMs` (short, so tests run fast), never overlapping, and
// lets callers wait for a full cycle that started after they asked (used by settle()).

export class ControllerLoop {
  private timer: NodeJS.Timeout | undefined
  private started = 0
  private completed = 0
  private stopped = false
  private current: Promise<void> | undefined
  private waiters: { target: number; resolve: () => void }[] = []

  constructor(
    readonly name: string,
    private readonly delayMs: number,
    private readonly work: () => Promise<void>,
    private readonly onError: (name: string, err: unknown) => void,
  ) {}

  start(): void {
    this.schedule(0)
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.current = this.run()
    }, ms)
  }

  private async run(): Promise<void> {
    this.started++
    try {
      await this.work()
    } catch (err) {
      this.onError(this.name, err)
    } finally {
      this.completed++
      this.waiters = this.waiters.filter((w) => (this.completed >= w.target ? (w.resolve(), false) : true))
      this.schedule(this.delayMs)
    }
  }

  /** Resolves when a cycle that starts after this call has completed. */
  nextCycle(): Promise<void> {
    if (this.stopped) return Promise.resolve()
    const target = this.started + 1
    return new Promise((resolve) => this.waiters.push({ target, resolve }))
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.current
    for (const w of this.waiters) w.resolve()
    this.waiters = []
  }
}
