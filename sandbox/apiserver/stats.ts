// Request accounting (what tests and benchmarks read to prove "a converged rerun writes nothing" and
// "no secret on any command line") and the faults tests can switch on.

export interface SandboxStats {
  requests: Record<string, number>
  mutating: Record<string, number>
  mutatingTotal: number
  execCommands: string[][]
  requestBodies: string[]
  /** TLS connections clients opened (each one a full handshake): a client that reuses its connection opens few. */
  tlsConnections: number
  /** GETs (objects, lists, discovery; no watches, no exec) by path: what "no object read twice" is checked on */
  reads: Record<string, number>
}

export class Stats {
  private data: SandboxStats = Stats.empty()

  private static empty(): SandboxStats {
    return { requests: {}, mutating: {}, mutatingTotal: 0, execCommands: [], requestBodies: [], tlsConnections: 0, reads: {} }
  }

  /** `key` looks like `PATCH deployments` or `POST pods/exec`. */
  count(key: string, mutating: boolean): void {
    this.data.requests[key] = (this.data.requests[key] ?? 0) + 1
    if (mutating) {
      this.data.mutating[key] = (this.data.mutating[key] ?? 0) + 1
      this.data.mutatingTotal++
    }
  }

  tlsConnection(): void {
    this.data.tlsConnections++
  }

  read(path: string): void {
    this.data.reads[path] = (this.data.reads[path] ?? 0) + 1
  }

  exec(command: string[]): void {
    this.data.execCommands.push([...command])
  }

  body(text: string): void {
    this.data.requestBodies.push(text)
  }

  snapshot(): SandboxStats {
    return structuredClone(this.data)
  }

  reset(): void {
    this.data = Stats.empty()
  }
}

export interface FaultSwitches {
  /** Added to every API request before it is served. */
  latencyMs: number
  /** The next `n` API requests (whose path contains `match`, when given) fail with 500 InternalError. */
  fail500Next(n: number, match?: string): void
  /** The next `n` API requests (whose path contains `match`, when given) fail with 403 Forbidden. */
  forbidNext(n: number, match?: string): void
  /** Every watch (open now or started later) is cut `ms` after it started or after this call; a negative value turns it off. */
  dropWatchesAfterMs(ms: number): void
  /** The next write (POST/PUT/PATCH/DELETE) fails with 409 Conflict. */
  conflictNextWrite(): void
}

export class Faults implements FaultSwitches {
  latencyMs = 0
  private failures: { code: 500 | 403; left: number; match?: string }[] = []
  private conflicts = 0
  /** When set: watches end this many ms after max(their start, `dropSince`). */
  watchDropMs: number | undefined
  dropSince = 0
  /** Called when the drop setting changes, so open watches can re-arm their timers. */
  onWatchDropChange: () => void = () => {}

  fail500Next(n: number, match?: string): void {
    this.failures.push({ code: 500, left: n, match })
  }

  forbidNext(n: number, match?: string): void {
    this.failures.push({ code: 403, left: n, match })
  }

  dropWatchesAfterMs(ms: number): void {
    this.watchDropMs = ms < 0 ? undefined : ms
    this.dropSince = Date.now()
    this.onWatchDropChange()
  }

  conflictNextWrite(): void {
    this.conflicts++
  }

  /** The injected failure for this request, if any (consumes it). */
  takeFailure(path: string): 500 | 403 | undefined {
    const f = this.failures.find((x) => x.left > 0 && (!x.match || path.includes(x.match)))
    if (!f) return undefined
    f.left--
    this.failures = this.failures.filter((x) => x.left > 0)
    return f.code
  }

  takeConflict(): boolean {
    if (this.conflicts === 0) return false
    this.conflicts--
    return true
  }
}
