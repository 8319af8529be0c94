// Settings: every knob of the setup, read from `.env` (dotenv) and the environment.
// Each entry documents itself; `.env.example` is checked against this table by a test.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { SetupError } from './errors.ts'

export interface SettingSpec {
  env: string
  help: string
  default?: string
  required?: boolean
  /** a secret: never logged, never saved, never put on a command line */
  secret?: boolean
}

export const SETTING_SPECS = {
  gitopsRepoDir: { env: 'GITOPS_REPO_DIR', required: true, help: 'Path to your GitOps repository checkout (absolute, or relative to the .env file).' },
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
  kubeconfig: { env: 'KUBECONFIG', default: '', help: 'Kubeconfig file; empty = ~/.kube/config.' },
  kubeContext: { env: 'KUBE_CONTEXT', default: '', help: 'Kube context the setup must run against; empty = the current context.' },
  allowOtherContext: { env: 'ALLOW_OTHER_CONTEXT', default: 'false', help: 'true to run against a context other than KUBE_CONTEXT.' },
  vaultNamespace: { env: 'VAULT_NAMESPACE', default: 'vault', help: 'Namespace of the Vault pod.' },
  vaultPod: { env: 'VAULT_POD', default: 'vault-0', help: 'Vault pod that runs `vault kv` commands.' },
  vaultToken: { env: 'VAULT_TOKEN', secret: true, default: '', help: 'Vault token, only when the pod is not logged in; passed on stdin, never argv.' },
  syncTimeoutSeconds: { env: 'SYNC_TIMEOUT_SECONDS', default: '300', help: 'How long to wait for an Application to be Synced and Healthy.' },
  stateDir: { env: 'STATE_DIR', default: '.setup-state', help: 'Folder (relative to this project) for saved progress and the run lock.' },
} satisfies Record<string, SettingSpec>

export type SettingKey = keyof typeof SETTING_SPECS
type SecretKey = 'githubPat' | 'vaultToken'
export type Settings = { readonly [K in Exclude<SettingKey, SecretKey>]: string } & {
  /** per-app settings by their variable name (APP_SQUOOSH_STRATEGY=semver), see src/apps.ts */
  readonly perApp: Readonly<Record<string, string>>
}

/** Per-app settings: APP_<NAME>_<FIELD>, NAME the app name upper-cased with - and . as _. */
export const PER_APP_SETTING = /^APP_([A-Z0-9_]+)_(IMAGE|STRATEGY|TAG_REGEX)$/

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
  const raw = (spec: SettingSpec) => {
    const v = env[spec.env] ?? fileVars[spec.env]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
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
  const pat = raw(SETTING_SPECS.githubPat)
  const vaultToken = raw(SETTING_SPECS.vaultToken)
  return {
    settings: Object.freeze(values) as unknown as Settings,
    secrets: { githubPat: () => pat, vaultToken: () => vaultToken },
    envFile: usedFile,
    warnings,
  }
}
