// The process's own terminal streams: a closed pipe (`run.ts --dry-run | head`) ends the run quietly
// instead of crashing with `write EPIPE`, and a pseudo-terminal that reports 0 columns is treated as
// 80 wide (listr2 and log-update would otherwise wrap one character per line).

/** True when listr2's default (redrawing) renderer will be used: stdout is a terminal that can redraw. */
export function redrawingTerminal(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdout.isTTY) && env.TERM !== 'dumb'
}

const FALLBACK_COLUMNS = 80

function fixColumns(stream: NodeJS.WriteStream): void {
  if (!stream.isTTY) return
  const fix = () => {
    if (!(stream.columns > 0)) stream.columns = FALLBACK_COLUMNS
  }
  fix()
  // node refreshes `columns` from the terminal on every resize, 0 included
  stream.on('resize', fix)
}

let guarded = false

/**
 * Once stdout or stderr is closed by the reader, further writes to it are dropped (no second EPIPE,
 * no stack trace) and `onClosed` is called once, so the caller can stop the way it stops on a signal.
 */
export function guardStreams(onClosed: (stream: 'stdout' | 'stderr') => void): void {
  if (guarded) return
  guarded = true
  let reported = false
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    fixColumns(stream)
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err
      // from now on this stream swallows what is written to it
      stream.write = ((_chunk: unknown, enc?: unknown, cb?: unknown) => {
        const done = typeof enc === 'function' ? enc : cb
        if (typeof done === 'function') queueMicrotask(() => (done as () => void)())
        return true
      }) as typeof stream.write
      if (!reported) {
        reported = true
        onClosed(name)
      }
    })
  }
}
