// Reading the Image Updater controller's log: did a cycle process our app, and does the recent log
// show one of the lines of a controller that idles or is misconfigured (it never fails by itself).

/** Lines that mean "runs, but will never update anything" (see docs/plans for where each comes from). */
export const IDLE_OR_BROKEN = [
  'No ImageUpdater CRs to process',
  'Invalid match option syntax',
  'Unknown sort option',
  'not of supported source type',
  'unauthorized',
  'could not get tags',
] as const

export interface CycleResult {
  applications: number
  imagesConsidered: number
  imagesUpdated: number
  errors: number
  line: number
}

export interface LogVerdict {
  /** the last `Processing results` line, parsed */
  lastCycle?: CycleResult
  /** a cycle that matched at least one application without errors was seen */
  healthyCycle: boolean
  /** idle/misconfiguration lines that count (those after the last healthy cycle, or all when none) */
  problems: string[]
}

function field(line: string, name: string): number {
  const m = new RegExp(`${name}=(\\d+)`).exec(line)
  return m ? Number(m[1]) : 0
}

export function parseCycle(line: string, index: number): CycleResult | undefined {
  if (!line.includes('Processing results')) return undefined
  return {
    applications: field(line, 'applications'),
    imagesConsidered: field(line, 'images_considered'),
    imagesUpdated: field(line, 'images_updated'),
    errors: field(line, 'errors'),
    line: index,
  }
}

/**
 * Problems before the first healthy cycle are history (for example `No ImageUpdater CRs to process`
 * logged before the it-tools app created the resource); problems after the last healthy cycle, or
 * in a log without one, count.
 */
export function analyzeLog(text: string): LogVerdict {
  const lines = text.split('\n')
  let lastCycle: CycleResult | undefined
  let lastHealthy = -1
  lines.forEach((l, i) => {
    const c = parseCycle(l, i)
    if (!c) return
    lastCycle = c
    if (c.applications >= 1 && c.errors === 0) lastHealthy = i
  })
  const problems: string[] = []
  lines.forEach((l, i) => {
    if (i <= lastHealthy) return
    const hit = IDLE_OR_BROKEN.find((p) => l.toLowerCase().includes(p.toLowerCase()))
    if (hit) problems.push(hit)
  })
  if (lastCycle && lastCycle.line > lastHealthy && lastCycle.errors > 0) problems.push(`last cycle reported errors=${lastCycle.errors}`)
  return { lastCycle, healthyCycle: lastHealthy >= 0, problems: [...new Set(problems)] }
}
