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

/** A SetupError when no kubeconfig can be found (and the process is not inside a cluster), else undefined. */
export function missingKubeconfig(opts: KubeconfigLookup): SetupError | undefined {
  const env = opts.env ?? process.env
  const k3s = opts.k3sPath ?? K3S_KUBECONFIG
  const k3sFix = existsSync(k3s)
    ? `this host runs k3s: set KUBECONFIG=${k3s} in .env (root-readable; or copy it for your user: sudo cp ${k3s} ~/.kube/config && sudo chown $USER ~/.kube/config)`
    : undefined
  const listed = (opts.setting || env.KUBECONFIG || '').split(delimiter).filter(Boolean)
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
