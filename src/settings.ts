// Settings: every knob of the setup, read from `.env` (dotenv) and the environment.
// Each entry documents itself; `.env.example` is checked against this table by a test.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, isAbsolute, posix, resolve } from 'node:path'
import { didYouMean } from './did-you-mean.ts'
import { parse as parseDotenv } from 'dotenv'
import { SetupError } from './errors.ts'
import { badTokenCharacters } from './pat-shape.ts'

export interface SettingSpec {
  env: string
  help: string
  default?: string
  required?: boolean
  /** a secret: never logged, never saved, never put on a command line */
  secret?: boolean
  /** a local path (KUBECONFIG: a :-joined list of them): a leading ~ is the home folder, as a shell would read it */
  path?: boolean
  /**
   * picks the cluster: the environment and the settings file naming different values is refused
   * (which cluster a run reaches must never depend on what a shell happened to export)
   */
  picksCluster?: boolean
}

export const SETTING_SPECS = {
  gitopsRepoDir: { env: 'GITOPS_REPO_DIR', required: true, path: true, help: 'Path to your GitOps repository checkout (absolute, or relative to the .env file).' },
  githubUsername: { env: 'GITHUB_USERNAME', required: true, help: 'GitHub user that owns the token; used for GHCR pulls and git write-back.' },
  githubPat: { env: 'GITHUB_PAT', secret: true, help: 'GitHub personal access token (classic: ghcr.io refuses fine-grained ones) with read:packages and repo (public_repo for a public GitOps repo). Asked for on a terminal when empty.' },
  githubApiUrl: { env: 'GITHUB_API_URL', default: 'https://api.github.com', help: 'GitHub API used to check the token scopes and that it can push to the GitOps repo; off = skip these checks.' },
  image: { env: 'IMAGE', default: '', help: 'Image Image Updater watches (nginx, owner/name, ghcr.io/owner/name; no tag); empty = the image the app\'s workload runs. Per app: APP_<NAME>_IMAGE.' },
  appName: { env: 'APP_NAME', default: 'it-tools', help: 'Name of the app, its Argo CD Application and its Deployment/Service (one app; see APPS for several).' },
  apps: { env: 'APPS', default: '', help: 'Several apps of the Directory app to onboard in one run, comma-separated (it-tools,squoosh,homepage); also --app NAME. Empty = APP_NAME.' },
  appNamespace: { env: 'APP_NAMESPACE', default: 'personal-services', help: 'Namespace the app runs in.' },
  argocdNamespace: { env: 'ARGOCD_NAMESPACE', default: 'argocd', help: 'Namespace of Argo CD, its Applications, Image Updater and its secrets.' },
  vaultPath: { env: 'VAULT_PATH', default: 'secret/homelab/github', help: 'Vault KV v2 path holding `username` and `pat` (ESO remoteRef key).' },
  secretStore: { env: 'SECRET_STORE', default: 'vault-backend', help: 'ESO ClusterSecretStore that reads Vault.' },
  tagRegex: { env: 'TAG_REGEX', default: '', help: 'Tags Image Updater may deploy (written as `regexp:<this>`); empty = derived from the running tag (sha-<hex>: ^sha-[0-9a-f]+$). Per app: APP_<NAME>_TAG_REGEX.' },
  updateStrategy: { env: 'UPDATE_STRATEGY', default: '', help: 'Image Updater strategy: semver, newest-build, digest or alphabetical; empty = derived from the running tag (sha-<hex>: newest-build, 1.12.0: semver within the major, latest: digest). Per app: APP_<NAME>_STRATEGY.' },
  alertRules: { env: 'ALERT_RULES', default: 'false', help: "Where the GitOps repo runs the Prometheus Operator (kube-prometheus-stack): task 5 adds a PrometheusRule on Image Updater's metrics (applications watched falling to 0, errors rising) and the chart values that make them scrapable (chart 1.2+). true or false." },
  chartVersion: { env: 'CHART_VERSION', default: '1.2.4', help: 'argocd-image-updater Helm chart version (1.0.x, 1.1.x or 1.2.x).' },
  repoUrl: { env: 'GITOPS_REPO_URL', default: '', help: 'Repo URL Argo CD uses; empty = the repoURL your Applications already use for this repo, else `origin`.' },
  branch: { env: 'GIT_BRANCH', default: 'main', help: 'Branch Argo CD tracks and the setup commits to.' },
  projectFile: { env: 'APPPROJECT_FILE', default: 'argocd/projects/homelab.yaml', help: 'AppProject file (gets the argo-helm repo in sourceRepos).' },
  applicationsDir: { env: 'APPLICATIONS_DIR', default: 'argocd/applications', help: 'Folder of Argo CD Application files.' },
  personalServicesFile: { env: 'PERSONAL_SERVICES_APP_FILE', default: 'argocd/applications/personal-services.yaml', help: 'Directory Application that runs the app today.' },
  vaultEsoFile: { env: 'VAULT_ESO_APP_FILE', default: 'argocd/applications/vault-eso.yaml', help: 'Directory Application that syncs the ESO files.' },
  manifestsDir: { env: 'MANIFESTS_DIR', default: 'k8s/helm/manifests', help: 'Folder of plain manifests both Directory Applications read.' },
  valuesDir: { env: 'VALUES_DIR', default: 'k8s/helm/values', help: 'Folder of Helm values files.' },
  planDir: { env: 'PLAN_DIR', default: 'docs/plans', help: 'Where task 0 saves the plan in the GitOps repo.' },
  logLevel: { env: 'SETUP_LOG_LEVEL', default: 'debug', help: 'Image Updater log level while setting up (task 9 lowers it).' },
  finalLogLevel: { env: 'FINAL_LOG_LEVEL', default: 'info', help: 'Image Updater log level after verification (task 9).' },
  kubeconfig: { env: 'KUBECONFIG', default: '', path: true, picksCluster: true, help: "Kubeconfig file; several joined by : are merged, as kubectl merges them; empty = ~/.kube/config. On another machine than the k3s server: a copy of its /etc/rancher/k3s/k3s.yaml with the server: line set to the server's address." },
  kubeContext: { env: 'KUBE_CONTEXT', default: '', picksCluster: true, help: 'Kube context to run against (as kubectl --context); empty = the current context, and later runs refuse a different cluster than the first one (--switch-cluster).' },
  vaultKubeContext: { env: 'VAULT_KUBE_CONTEXT', default: '', picksCluster: true, help: "Kube context of the cluster Vault runs on; empty = told from the repo (the cluster whose server host the ClusterSecretStore's Vault server shares, and the context that reaches it or has its Argo CD name), else KUBE_CONTEXT's." },
  vaultNamespace: { env: 'VAULT_NAMESPACE', default: 'vault', help: 'Namespace of the Vault pod.' },
  vaultPod: { env: 'VAULT_POD', default: 'vault-0', help: 'Vault pod that runs `vault kv` commands.' },
  vaultToken: { env: 'VAULT_TOKEN', secret: true, default: '', help: 'Vault token, only when the pod is not logged in; passed on stdin, never argv.' },
  syncTimeoutSeconds: { env: 'SYNC_TIMEOUT_SECONDS', default: '300', help: 'How long to wait for an Application to be Synced and Healthy.' },
  requestTimeoutSeconds: { env: 'REQUEST_TIMEOUT_SECONDS', default: '30', help: 'How long one Kubernetes API request or git network call (push, fetch) may go without an answer before it is retried (a few times) or fails.' },
  stateDir: { env: 'STATE_DIR', default: '.setup-state', path: true, help: 'Folder (relative to this project) for saved progress, one file per GitOps repo (the run lock lives in the repo\'s git dir).' },
} satisfies Record<string, SettingSpec>

export type SettingKey = keyof typeof SETTING_SPECS
type SecretKey = 'githubPat' | 'vaultToken'
export type Settings = { readonly [K in Exclude<SettingKey, SecretKey>]: string } & {
  /** per-app settings by their variable name (APP_SQUOOSH_STRATEGY=semver), see src/apps.ts */
  readonly perApp: Readonly<Record<string, string>>
}

/** The fields of per-app settings (APP_<NAME>_<FIELD>). */
export const PER_APP_FIELDS = ['IMAGE', 'STRATEGY', 'TAG_REGEX'] as const
/** Per-app settings: APP_<NAME>_<FIELD>, NAME the app name upper-cased with - and . as _. */
export const PER_APP_SETTING = new RegExp(`^APP_([A-Z0-9_]+)_(${PER_APP_FIELDS.join('|')})$`)
/** Names once read and now retired: they get their own warning, not "unknown". */
const RETIRED_SETTINGS = ['ALLOW_OTHER_CONTEXT']

/** Secrets live apart from settings so that settings can be printed or saved without thought. */
export interface Secrets {
  githubPat(): string | undefined
  vaultToken(): string | undefined
}

export interface LoadedConfig {
  settings: Settings
  secrets: Secrets
  /** the env file actually read, if any */
  envFile?: string
  warnings: string[]
}

/**
 * Reads `.env` (or `envFile`) and the process environment (environment wins, as with dotenv),
 * fills defaults and checks required values. Does not touch `process.env`.
 */
export function loadConfig(opts: { envFile?: string; cwd?: string; env?: NodeJS.ProcessEnv; requireAll?: boolean } = {}): LoadedConfig {
  const cwd = opts.cwd ?? process.cwd()
  const env = opts.env ?? process.env
  const warnings: string[] = []
  let fileVars: Record<string, string> = {}
  const envFile = opts.envFile ? resolve(cwd, opts.envFile) : resolve(cwd, '.env')
  let usedFile: string | undefined
  if (existsSync(envFile)) {
    fileVars = parseDotenv(readFileSync(envFile))
    usedFile = envFile
    if (process.platform !== 'win32' && (statSync(envFile).mode & 0o044) !== 0)
      warnings.push(`${envFile} is readable by other users and may hold secrets: run chmod 600 ${envFile}`)
  } else if (opts.envFile) {
    throw new SetupError(`env file ${envFile} does not exist`, `create it from .env.example (cp .env.example ${opts.envFile}) or pass another --env-file`)
  }
  const home = env.HOME || homedir()
  const problems: Problem[] = []
  const tilde = (spec: SettingSpec, v: string) => (spec.path ? expandHome(spec, v, home, problems) : v)
  const raw = (spec: SettingSpec) => {
    const v = env[spec.env] ?? fileVars[spec.env]
    return v === undefined || v.trim() === '' ? undefined : tilde(spec, v.trim())
  }
  if (usedFile) warnings.push(...unknownSettingWarnings(Object.keys(fileVars), usedFile))
  warnings.push(...unknownSettingWarnings(Object.keys(env), 'the environment', true))
  for (const spec of Object.values(SETTING_SPECS) as SettingSpec[]) {
    if (!spec.picksCluster || !usedFile) continue
    const [inEnv, inFile] = [env[spec.env]?.trim(), fileVars[spec.env]?.trim()]
    if (!inEnv || !inFile || tilde(spec, inEnv) === tilde(spec, inFile)) continue
    problems.push({
      cause: `${spec.env} is ${inEnv} in the environment but ${inFile} in ${usedFile}: which cluster this run reaches would depend on what the shell exported`,
      fix: `unset ${spec.env} in the shell (unset ${spec.env}), or set the same value in both`,
    })
  }
  const values: Record<string, string> = {}
  const missing: string[] = []
  for (const [key, spec] of Object.entries(SETTING_SPECS) as [SettingKey, SettingSpec][]) {
    if (spec.secret) continue
    const v = raw(spec) ?? spec.default
    if (v === undefined) {
      if (spec.required && opts.requireAll !== false) missing.push(spec.env)
      values[key] = ''
    } else values[key] = v
  }
  if (missing.length)
    throw new SetupError(
      `missing setting${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      `set ${missing.join(' and ')} in ${usedFile ?? '.env'} (see .env.example) or in the environment`,
    )
  const perApp: Record<string, string> = {}
  for (const source of [fileVars, env])
    for (const [name, value] of Object.entries(source)) if (PER_APP_SETTING.test(name) && value !== undefined && value.trim() !== '') perApp[name] = value.trim()
  ;(values as Record<string, unknown>).perApp = Object.freeze(perApp)
  if (values.gitopsRepoDir && !isAbsolute(values.gitopsRepoDir))
    values.gitopsRepoDir = resolve(usedFile ? resolve(usedFile, '..') : cwd, values.gitopsRepoDir)
  if (raw({ env: RETIRED_SETTINGS[0], help: '' }) !== undefined)
    warnings.push('ALLOW_OTHER_CONTEXT is no longer read: KUBE_CONTEXT selects the context the setup runs against (delete the line)')
  const pat = raw(SETTING_SPECS.githubPat)
  const vaultToken = raw(SETTING_SPECS.vaultToken)
  problems.push(...settingProblems(values as unknown as Settings))
  const patProblem = pat === undefined ? undefined : patCharacterProblem(pat)
  if (patProblem) problems.push(patProblem)
  const seen = new Set<string>()
  problems.splice(0, problems.length, ...problems.filter((p) => !seen.has(p.cause) && seen.add(p.cause)))
  if (problems.length)
    throw new SetupError(
      problems.length === 1 ? problems[0].cause : `${problems.length} settings are wrong:\n${problems.map((p) => `  - ${p.cause}\n    fix: ${p.fix}`).join('\n')}`,
      problems.length === 1 ? `${problems[0].fix} in ${usedFile ?? '.env'} or the environment` : `fix each item above in ${usedFile ?? '.env'} or the environment`,
    )
  return {
    settings: Object.freeze(values) as unknown as Settings,
    secrets: { githubPat: () => pat, vaultToken: () => vaultToken },
    envFile: usedFile,
    warnings,
  }
}

interface Problem {
  cause: string
  fix: string
}

/**
 * `~` and `~/x` are the home folder, as a shell reads them (dotenv does not, and `~/homelab` would
 * become `<cwd>/~/homelab`); `~user/x` is refused with the fix. KUBECONFIG is a :-joined list.
 */
function expandHome(spec: SettingSpec, value: string, home: string, problems: Problem[]): string {
  const one = (p: string) => {
    if (p === '~' || p.startsWith('~/')) return home + p.slice(1)
    if (p.startsWith('~'))
      problems.push({ cause: `${spec.env} "${value}" starts with ${p.split('/')[0]}, another user's home folder, which this tool does not look up`, fix: `set ${spec.env} to the full path` })
    return p
  }
  return spec.env === 'KUBECONFIG' ? value.split(delimiter).map(one).join(delimiter) : one(value)
}

/** Every name the settings read: the table's, the per-app pattern's and the retired ones. */
function isKnownSetting(name: string): boolean {
  return (Object.values(SETTING_SPECS) as SettingSpec[]).some((s) => s.env === name) || PER_APP_SETTING.test(name) || RETIRED_SETTINGS.includes(name)
}

/** The per-app setting a mistyped APP_<NAME>_<FIELD> means (APP_SQUOOSH_STRATEGIE → APP_SQUOOSH_STRATEGY). */
function meantPerApp(name: string): string | undefined {
  const parts = name.split('_')
  if (parts[0] !== 'APP' || parts.length < 3) return undefined
  for (let cut = 2; cut < parts.length; cut++) {
    const field = didYouMean(parts.slice(cut).join('_'), PER_APP_FIELDS)
    if (field) return `${parts.slice(0, cut).join('_')}_${field}`
  }
  return undefined
}

/**
 * A warning for each name that is not a setting: in the settings file every one (with the setting
 * meant when one is close), in the environment (which holds much else) only those close to one.
 */
export function unknownSettingWarnings(names: string[], where: string, onlyClose = false): string[] {
  const known = (Object.values(SETTING_SPECS) as SettingSpec[]).map((s) => s.env)
  const out: string[] = []
  for (const name of names) {
    if (isKnownSetting(name)) continue
    const meant = meantPerApp(name) ?? (name.length >= 5 ? didYouMean(name, known) : undefined)
    if (meant) out.push(`${name} in ${where} is not a setting (did you mean ${meant}?); it is ignored`)
    else if (!onlyClose) out.push(`${name} in ${where} is not a setting this tool reads; it is ignored (see .env.example)`)
  }
  return out
}

/** Settings that name a file or folder in the GitOps repo: each must stay inside it. */
const REPO_PATHS = ['projectFile', 'applicationsDir', 'personalServicesFile', 'vaultEsoFile', 'manifestsDir', 'valuesDir', 'planDir'] as const
/** Kubernetes object names: Service names (APP_NAME names one) are DNS-1035 labels, namespaces DNS-1123 labels. */
const DNS1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const NAMES: { key: 'appName' | 'appNamespace' | 'argocdNamespace' | 'vaultNamespace' | 'secretStore' | 'vaultPod'; pattern: RegExp; kind: string }[] = [
  { key: 'appName', pattern: DNS1035_LABEL, kind: 'a Kubernetes Service name (lower-case letters, digits and -, starting with a letter, at most 63)' },
  { key: 'appNamespace', pattern: DNS1123_LABEL, kind: 'a namespace name (lower-case letters, digits and -, at most 63)' },
  { key: 'argocdNamespace', pattern: DNS1123_LABEL, kind: 'a namespace name (lower-case letters, digits and -, at most 63)' },
  { key: 'vaultNamespace', pattern: DNS1123_LABEL, kind: 'a namespace name (lower-case letters, digits and -, at most 63)' },
  { key: 'secretStore', pattern: DNS1123_SUBDOMAIN, kind: 'a Kubernetes object name (lower-case letters, digits, - and .)' },
  { key: 'vaultPod', pattern: DNS1123_SUBDOMAIN, kind: 'a pod name (lower-case letters, digits, - and .)' },
]
/** Node's timers hold at most 2^31-1 ms; a longer one fires at once (and every wait would fail). */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

/** Every setting that would write outside the repo, name an invalid object or break a timer. */
export function settingProblems(s: Settings): Problem[] {
  const problems: Problem[] = []
  for (const key of REPO_PATHS) {
    const { env } = SETTING_SPECS[key]
    const value = s[key]
    const fix = `set ${env} to a path inside the GitOps repo, relative to GITOPS_REPO_DIR (default ${SETTING_SPECS[key].default})`
    if (isAbsolute(value) || /^[a-zA-Z]:[\\/]/.test(value)) problems.push({ cause: `${env} "${value}" is an absolute path; it must be relative to the GitOps repo`, fix })
    else {
      const norm = posix.normalize(value.replace(/\\/g, '/'))
      if (norm === '..' || norm.startsWith('../')) problems.push({ cause: `${env} "${value}" leads outside the GitOps repo`, fix })
      else if (norm === '.' || norm === '') problems.push({ cause: `${env} "${value}" names the repo itself, not a path in it`, fix })
      else if (norm === '.git' || norm.startsWith('.git/')) problems.push({ cause: `${env} "${value}" points into the repo's .git folder`, fix })
    }
  }
  for (const { key, pattern, kind } of NAMES) {
    const { env } = SETTING_SPECS[key]
    if (!pattern.test(s[key])) problems.push({ cause: `${env} "${s[key]}" is not ${kind}`, fix: `set ${env} to a valid name, e.g. ${SETTING_SPECS[key].default}` })
  }
  for (const name of (s.apps ?? '').split(',').map((a) => a.trim()).filter(Boolean))
    if (!DNS1035_LABEL.test(name)) problems.push({ cause: `APPS names "${name}", which is not a Kubernetes Service name (lower-case letters, digits and -, starting with a letter)`, fix: 'set APPS to the app names, comma-separated, e.g. it-tools,squoosh' })
  for (const key of ['syncTimeoutSeconds', 'requestTimeoutSeconds'] as const) {
    const { env, default: def } = SETTING_SPECS[key]
    const n = Number(s[key])
    if (!/^\d+$/.test(s[key]) || !(n > 0)) problems.push({ cause: `${env} "${s[key]}" is not a whole number of seconds above 0`, fix: `set ${env}=${def}` })
    else if (n > MAX_TIMER_SECONDS) problems.push({ cause: `${env} ${s[key]} is above ${MAX_TIMER_SECONDS} s, the longest timer Node can set (a longer one fires at once)`, fix: `set ${env} to at most ${MAX_TIMER_SECONDS} (e.g. ${def})` })
  }
  return problems
}

/**
 * A GitHub token is letters, digits and _: a quote, a space or a line break in it is a paste gone
 * wrong, and would break the registry credentials (the dockerconfigjson built from it) later.
 */
export function patCharacterProblem(pat: string): Problem | undefined {
  const bad = badTokenCharacters(pat)
  if (!bad) return undefined
  return {
    cause: `GITHUB_PAT contains ${bad}, which no GitHub token has (it would break the registry credentials built from it); nothing was stored`,
    fix: 'set GITHUB_PAT to the token exactly as GitHub shows it (ghp_… or github_pat_…, one line, no quotes inside the value)',
  }
}
