// Questions on the terminal (stderr: stdout belongs to the renderer): a hidden line for the GitHub
// token and a yes/no. Ctrl-C or Ctrl-D ends them with StopRequested, which the runner turns into one
// line and exit 130 (readline puts the terminal in raw mode, so Ctrl-C arrives here, not as SIGINT).
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { StopRequested } from './stop.ts'

function ask(question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let muted = false
    const out = new Writable({
      write(chunk, _enc, cb) {
        if (!muted) process.stderr.write(chunk)
        cb()
      },
    })
    const rl = createInterface({ input: process.stdin, output: out, terminal: true })
    let answered = false
    const stop = (cause: 'SIGINT' | 'EOF') => {
      if (answered) return
      answered = true
      rl.close()
      process.stderr.write('\n')
      reject(new StopRequested(cause))
    }
    rl.on('SIGINT', () => stop('SIGINT'))
    // Ctrl-D on an empty line closes the input
    rl.on('close', () => stop('EOF'))
    rl.question(question, (answer) => {
      answered = true
      rl.close()
      if (hidden) process.stderr.write('\n')
      resolve(answer.trim())
    })
    muted = hidden
  })
}

/** Reads a line without echoing it. */
export function promptHidden(question: string): Promise<string> {
  return ask(question, true)
}

/** y/yes → true; anything else (Enter included) → false. */
export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test(await ask(`${question} [y/N] `, false))
}

/** A person is there to answer (stdin and stderr are terminals). */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY)
}
