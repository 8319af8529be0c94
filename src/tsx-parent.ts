// `npx tsx scripts/run.ts` runs this script as the child of tsx's CLI, which relays Ctrl-C in a way
// that can kill a run uncleanly: on SIGINT it waits 30 ms for the child to report the signal (the
// child's event loop must be free to do so), sends SIGINT once more, waits 30 ms again and then
// SIGKILLs it. A run busy for 60 ms (a loaded machine, task 8 reading logs) was killed silently,
// its lock left behind and no resume line. Under that parent the run goes one process further
// down: this process only waits (its event loop is free, it reports at once) and the run, in the
// terminal's process group, gets the terminal's Ctrl-C itself and stops the clean way.
// Only Node's own modules here: this runs first.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

/** Set in the run's environment so it does not go one process further down again. */
export const RELAYED_ENV = 'SETUP_UNDER_TSX_RELAY'

/** True when the parent is tsx's CLI (it listens on tmpdir/tsx-<uid>/<its pid>.pipe for its child). */
export function underTsxCli(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env[RELAYED_ENV]) return false
  const user = process.geteuid ? process.geteuid() : userInfo().username
  return existsSync(join(tmpdir(), `tsx-${user}`, `${process.ppid}.pipe`))
}

/**
 * Runs `script` with `args` in a child node (tsx's loader, so sources or the bundle as usual) and
 * resolves to its exit code. SIGTERM is passed on; SIGINT is not (the child has the terminal's own),
 * and a relayed duplicate is one stop to the run (src/stop.ts).
 */
export function runOneDown(script: string, args: string[], tsxLoader: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', tsxLoader, script, ...args], { stdio: 'inherit', env: { ...process.env, [RELAYED_ENV]: '1' } })
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(signal)
  }
  // tsx's own (hidden) handler reports the signal to its CLI; these keep this process alive meanwhile
  process.on('SIGINT', () => {})
  process.on('SIGTERM', forward('SIGTERM'))
  process.on('SIGHUP', forward('SIGHUP'))
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 9)))
    child.on('error', () => resolve(1))
  })
}
