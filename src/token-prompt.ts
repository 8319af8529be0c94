// Questions on the terminal (stderr: stdout belongs to the renderer): a hidden line for the GitHub
// token and a yes/no. Ctrl-C or Ctrl-D ends them with StopRequested, which the runner turns into one
// line and exit 130 (readline puts the terminal in raw mode, so Ctrl-C arrives here, not as SIGINT).
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { SetupError } from './errors.ts'
import { StopRequested } from './stop.ts'

// Process-wide because the terminal is: once listr2 draws the task list it redraws over whatever a
// question prints, and the person sees no prompt (a resumed run once waited minutes on one).
let listDrawn = false

/** From now on no question is asked: the runner calls it right before the task list is drawn. */
export function closeQuestions(): void {
  listDrawn = true
}

/** The task list is gone (the run ended): questions may be asked again (tests run several CLIs in one process). */
export function reopenQuestions(): void {
  listDrawn = false
}

/** True once the task list is drawn: a missing answer must fail with what to set instead. */
export function questionsClosed(): boolean {
  return listDrawn
}

function ask(question: string, hidden: boolean): Promise<string> {
  if (listDrawn)
    return Promise.reject(
      new SetupError(`a question came up after the task list was drawn, where nobody would see it: "${question.trim()}"`, 'this is a bug in the setup (every question belongs before the list): report it; --yes or the setting the question is about avoids it'),
    )
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

/** A person is there to answer (stdin and stderr are terminals) and the task list is not drawn yet. */
export function canAsk(): boolean {
  return !listDrawn && Boolean(process.stdin.isTTY && process.stderr.isTTY)
}
