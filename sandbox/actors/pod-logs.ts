// A container's log in logrus text format (`time="..." level=info msg="..." k=v`), as the Image
// Updater writes it. Lines under the configured level are dropped, like the real logger does.
export type Level = 'trace' | 'debug' | 'info' | 'warning' | 'error'
const ORDER: Level[] = ['trace', 'debug', 'info', 'warning', 'error']
const MAX_LINES = 2000

export function formatLogLine(level: Level, msg: string, fields: Record<string, string | number> = {}, at = new Date()): string {
  const quote = (v: string) => (/^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v))
  const extra = Object.entries(fields).map(([k, v]) => ` ${k}=${quote(String(v))}`).join('')
  return `time="${at.toISOString().replace(/\.\d+Z$/, 'Z')}" level=${level} msg=${JSON.stringify(msg)}${extra}`
}

export class PodLog {
  private readonly lines: string[] = []
  constructor(private level: () => Level) {}

  write(level: Level, msg: string, fields?: Record<string, string | number>): void {
    if (ORDER.indexOf(level) < ORDER.indexOf(this.level())) return
    this.lines.push(formatLogLine(level, msg, fields))
    if (this.lines.length > MAX_LINES) this.lines.splice(0, this.lines.length - MAX_LINES)
  }

  read(): string {
    return this.lines.length ? this.lines.join('\n') + '\n' : ''
  }
}

export function parseLevel(value: string | undefined): Level {
  const v = (value ?? 'info').toLowerCase()
  if (v === 'warn') return 'warning'
  return (ORDER as string[]).includes(v) ? (v as Level) : 'info'
}
