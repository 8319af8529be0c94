// Stopping early, cleanly: Ctrl-C (SIGINT), SIGTERM, a closed output pipe, or Ctrl-C/Ctrl-D at a
// prompt. The runner registers what to do (save progress, release the lock, print the state and the
// resume command); tasks register what they changed only for the duration of the run (personal-
// services' paused auto-prune), which is put back where that is safe.

export type StopCause = 'SIGINT' | 'SIGTERM' | 'EPIPE' | 'EOF'

/** 128 + signal number, as shells report a process ended by that signal (Ctrl-D counts as Ctrl-C). */
export const STOP_EXIT_CODE: Record<StopCause, number> = { SIGINT: 130, SIGTERM: 143, EPIPE: 141, EOF: 130 }

export const STOP_TEXT: Record<StopCause, string> = { SIGINT: 'Ctrl-C', SIGTERM: 'SIGTERM', EPIPE: 'the output pipe closed', EOF: 'Ctrl-D' }

/** Thrown by a prompt the person ended with Ctrl-C or Ctrl-D. */
export class StopRequested extends Error {
  constructor(readonly cause: StopCause) {
    super(`stopped by ${STOP_TEXT[cause]}`)
    this.name = 'StopRequested'
  }
}

/** Something a task changed for the duration of the run only. */
export interface PutBack {
  /** puts it back when that is safe; resolves to one line saying what was done or what is left */
  putBack(): Promise<string>
}

const PUT_BACK_TIMEOUT_MS = 15_000
/** A signal repeated within this long is an echo of the first (a relaying parent), not a second Ctrl-C. */
export const RELAY_ECHO_MS = 1000

export class StopControl {
  private readonly putBacks = new Map<string, PutBack>()
  private handler: ((cause: StopCause) => Promise<number>) | undefined
  private stopping = false
  private firstCause: StopCause | undefined
  private firstAt = 0

  constructor(private readonly exit: (code: number) => void = (code) => process.exit(code)) {}

  /** A stop was asked for: work that has not begun yet should not begin (the stop ends the process). */
  get requested(): boolean {
    return this.stopping
  }

  /** Takes over SIGINT and SIGTERM for the rest of the process (listr2's own handler is off). */
  listen(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => void this.stop(signal))
    }
  }

  /** What stopping does at this point of the run; resolves to the exit code. */
  onStop(handler: (cause: StopCause) => Promise<number>): void {
    this.handler = handler
  }

  remember(key: string, item: PutBack): void {
    this.putBacks.set(key, item)
  }

  /** Puts back everything remembered (each bounded in time); one line per item. */
  async putBackAll(): Promise<string[]> {
    const lines: string[] = []
    for (const [key, item] of this.putBacks) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`${key}: could not be checked within ${PUT_BACK_TIMEOUT_MS / 1000}s`), PUT_BACK_TIMEOUT_MS)
      })
      try {
        lines.push(await Promise.race([item.putBack(), timeout]))
      } catch (err) {
        lines.push(`${key}: could not be put back: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
      } finally {
        clearTimeout(timer)
      }
      this.putBacks.delete(key)
    }
    return lines
  }

  /**
   * Stops the process the registered way; a second request while stopping exits at once, but the
   * same signal again within RELAY_ECHO_MS is one stop (a parent that relays the terminal's Ctrl-C,
   * as tsx's CLI does, makes the run get it twice).
   */
  async stop(cause: StopCause): Promise<void> {
    if (this.stopping && cause === this.firstCause && Date.now() - this.firstAt < RELAY_ECHO_MS) return
    if (this.stopping) {
      process.stderr.write(`\n✖ stopped again (${STOP_TEXT[cause]}) while cleaning up: exiting now; run --list to see the saved progress\n`)
      return this.exit(STOP_EXIT_CODE[cause])
    }
    this.stopping = true
    this.firstCause = cause
    this.firstAt = Date.now()
    let code = STOP_EXIT_CODE[cause]
    try {
      if (this.handler) code = await this.handler(cause)
    } catch (err) {
      process.stderr.write(`✖ while stopping: ${err instanceof Error ? err.message : String(err)}\n`)
    }
    this.exit(code)
  }
}
