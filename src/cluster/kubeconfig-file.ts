// Which kubeconfig the cluster tasks would read, found without loading the Kubernetes client: with
// none at all, client-node falls back to http://localhost:8080 and the user sees "HTTP protocol is
// not allowed" instead of the cause. Common on k3s, whose kubeconfig is /etc/rancher/k3s/k3s.yaml.
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { SetupError } from '../errors.ts'

export const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml'

export interface KubeconfigLookup {
  /** KUBECONFIG from .env, else from the environment */
  setting: string
  env?: NodeJS.ProcessEnv
  home?: string
  /** where k3s keeps its kubeconfig (a parameter for tests) */
  k3sPath?: string
}

/** The files KUBECONFIG lists (from .env, else the environment), as kubectl splits it. */
export function listedKubeconfigs(setting: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return (setting || env.KUBECONFIG || '').split(delimiter).filter(Boolean)
}

/**
 * How a user (not root) gets k3s's kubeconfig: a copy of their own, beside any kubeconfig they have
 * (not over ~/.kube/config, which may hold other clusters), named in .env by its full path (dotenv
 * does not expand ~). k3s writes k3s.yaml readable by root only.
 */
export function k3sCopyFix(k3s: string, home: string): string {
  const copy = join(home, '.kube', 'k3s.yaml')
  return `copy it for your user (mkdir -p ${join(home, '.kube')} && sudo cp ${k3s} ${copy} && sudo chown $USER ${copy}), set KUBECONFIG=${copy} in .env, then rerun; as root, KUBECONFIG=${k3s} works as it is`
}

/** A SetupError when no kubeconfig can be found (and the process is not inside a cluster), else undefined. */
export function missingKubeconfig(opts: KubeconfigLookup): SetupError | undefined {
  const env = opts.env ?? process.env
  const k3s = opts.k3sPath ?? K3S_KUBECONFIG
  const k3sFix = existsSync(k3s) ? `this host runs k3s: ${k3sCopyFix(k3s, opts.home ?? homedir())}` : undefined
  const listed = listedKubeconfigs(opts.setting, env)
  if (listed.length) {
    if (listed.some((f) => existsSync(f))) return undefined
    const from = opts.setting ? 'KUBECONFIG in .env' : 'KUBECONFIG in the environment'
    return new SetupError(`no kubeconfig found: ${from} names ${listed.join(delimiter)}, which does not exist`, k3sFix ?? 'set KUBECONFIG in .env to the kubeconfig of your cluster (the file kubectl uses)')
  }
  const home = join(opts.home ?? homedir(), '.kube', 'config')
  if (existsSync(home)) return undefined
  // inside a pod client-node uses the service account instead
  if (env.KUBERNETES_SERVICE_HOST) return undefined
  return new SetupError(
    `no kubeconfig found: KUBECONFIG is empty (in .env and the environment) and ${home} does not exist`,
    k3sFix ?? 'set KUBECONFIG in .env to the kubeconfig of your cluster (the file kubectl uses), or put it at ~/.kube/config',
  )
}

/** The fix for a kubeconfig that could not be read (`err` from reading one of `files`). */
export function unreadableKubeconfigFix(err: unknown, files: string[], home = homedir()): string {
  const e = err as NodeJS.ErrnoException | undefined
  const denied = e?.code === 'EACCES' ? files.find((f) => String(e.message).includes(f)) : undefined
  if (denied === K3S_KUBECONFIG) return `k3s writes it readable by root only: ${k3sCopyFix(K3S_KUBECONFIG, home)}`
  if (denied) return `make it readable for your user (sudo chown $USER ${denied}), then rerun`
  return `set KUBECONFIG in .env to a readable kubeconfig (for k3s: ${k3sCopyFix(K3S_KUBECONFIG, home)})`
}
