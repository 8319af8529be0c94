// What the kubelet does for the sandbox: runs `pods/exec` commands and serves `pods/log`, through
// handlers the simulated workloads register (e.g. the Vault pod's `vault` CLI).

/** Runs one exec'd command line; `stdin` is everything the client sent before closing stdin. */
export type ExecHandler = (command: string[], stdin: Buffer) => Promise<{ stdout: string; stderr: string; exitCode: number }>

export interface PodRuntime {
  /** pods/exec runs `handler` once stdin is closed (v5 close signal) or, when the client sent no stdin, at once. */
  registerExec(namespace: string, pod: string, handler: ExecHandler): void
  /** pods/log returns read(). */
  registerLogs(namespace: string, pod: string, read: () => string): void
}

const podKey = (namespace: string, pod: string) => `${namespace}/${pod}`

export class Pods implements PodRuntime {
  private readonly execs = new Map<string, ExecHandler>()
  private readonly logs = new Map<string, () => string>()

  registerExec(namespace: string, pod: string, handler: ExecHandler): void {
    this.execs.set(podKey(namespace, pod), handler)
  }

  registerLogs(namespace: string, pod: string, read: () => string): void {
    this.logs.set(podKey(namespace, pod), read)
  }

  execHandler(namespace: string, pod: string): ExecHandler | undefined {
    return this.execs.get(podKey(namespace, pod))
  }

  logReader(namespace: string, pod: string): (() => string) | undefined {
    return this.logs.get(podKey(namespace, pod))
  }
}
