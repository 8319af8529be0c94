// The repo model's shapes: the GitOps repo as Argo CD sees it. These types are the contract between
// the model (src/repo-model/) and its users (onboarding, the render gate, the dry-run report).
// Paths are repo-relative with `/`; lines are 1-based. Every `json` is shared with the model's
// caches (the same text is parsed once per process): read it, never change it (structuredClone first).

/** A place in the repo: a file and the line of the document (or item) there. */
export interface Where {
  file: string
  line: number
}

/** An Argo CD cluster: in-cluster, or one declared by a cluster Secret (or an ExternalSecret that makes one). */
export interface ArgoCluster {
  /** the cluster's name as Argo CD shows it (`in-cluster` for the one Argo CD runs on) */
  name: string
  /** its API server URL; undefined when the Secret's template fills it from a secret store */
  server?: string
  /** the host of `server` (no scheme, no port) */
  host?: string
  inCluster: boolean
  /** how it was declared: Argo CD's built-in in-cluster, a Secret, or an ExternalSecret's target template */
  declaredBy: 'in-cluster' | 'Secret' | 'ExternalSecret'
  where?: Where
}

/** Where an Application's destination lands. */
export interface Destination {
  server?: string
  name?: string
  namespace?: string
  /** the cluster the destination names, when the repo says which */
  cluster?: ArgoCluster
  /** why `cluster` is unknown (no cluster Secret with that server or name in the repo) */
  unresolved?: string
}

export type SourceType = 'Directory' | 'Kustomize' | 'Helm' | 'Plugin'

export interface ModelSource {
  repoURL: string
  path?: string
  /** a chart of a Helm repository (`chart:`): opaque, rendered by Argo CD from that repository */
  chart?: string
  targetRevision?: string
  /** `ref:` of a multi-source app (a `$values` source) */
  ref?: string
  /** the source type as Argo CD decides it */
  type: SourceType
  /** why that type: an explicit field, or the file that made Argo CD pick it */
  typeWhy: string
  /** the source is a folder of this repo (its repoURL names this repo) */
  thisRepo: boolean
  /** spec.source.directory when given: include/exclude globs, recurse */
  directory?: { include?: string; exclude?: string; recurse: boolean }
  /** spec.source.kustomize / helm / plugin as written (raw) */
  kustomize?: Record<string, unknown>
  helm?: Record<string, unknown>
  plugin?: Record<string, unknown>
}

/** Where an Application comes from: a file applied by hand, an app that renders it, or an ApplicationSet. */
export type AppOrigin =
  | { by: 'file' }
  | { by: 'parent'; parent: string }
  | { by: 'appset'; appSet: string }

export interface SyncPolicy {
  automated: boolean
  prune: boolean
  selfHeal: boolean
}

/** One object an Application renders from this repo. */
export interface RenderedObject {
  apiVersion: string
  kind: string
  name: string
  /** after the app's destination namespace and any kustomize `namespace:` (undefined: cluster-scoped) */
  namespace?: string
  /** the file and line of the document it comes from (a kustomization for generated objects) */
  file: string
  line: number
  /** index of the document in its file (0-based, empty documents not counted) */
  doc: number
  /** index of the app's source that renders it */
  source: number
  /** the object as rendered (what Argo CD would apply, before its own labels) */
  json: Record<string, any>
}

/** One `images:` entry of a kustomization, kept as written. */
export interface KustomizeImage extends Where {
  name: string
  newName?: string
  newTag?: string
  digest?: string
}

export interface KustomizationInfo {
  /** the kustomization file */
  file: string
  dir: string
  namespace?: string
  /** `resources:` as written */
  resources: string[]
  images: KustomizeImage[]
}

/** Two or more objects with one identity (kind, namespace, name) in one app: Argo CD refuses to sync it. */
export interface DuplicateIdentity {
  identity: string
  objects: RenderedObject[]
}

export interface AppRender {
  /**
   * rendered: every source of this repo was read; failed: a source does not build (Argo CD shows a
   * ComparisonError); opaque: a source cannot be read here (a chart from a Helm repo, Helm without
   * helm, a plugin); elsewhere: no source is in this repo
   */
  status: 'rendered' | 'failed' | 'opaque' | 'elsewhere'
  /** what could not be rendered and why (one line each) */
  notes: string[]
  /** the failure: the file to look at and the renderer's own words */
  error?: { file: string; message: string }
  objects: RenderedObject[]
  /** every kustomization the Kustomize sources go through (nested ones too) */
  kustomizations: KustomizationInfo[]
  duplicates: DuplicateIdentity[]
  /** repo files the render read (the app's inputs: a change to any of them changes what it renders) */
  inputs: string[]
  /** folders it reads (source paths, every kustomization's folder): a file added or removed there may change it */
  folders: string[]
}

export interface ModelApp {
  name: string
  /** the Application's own namespace (where Argo CD reads it) */
  namespace: string
  origin: AppOrigin
  /**
   * A file Application inside the source folder of an app that does not sync that file (its
   * include/exclude leaves it out): most likely a disabled app; Argo CD reads it only if applied by hand.
   */
  leftOutBy?: string
  /** where its YAML is: its file (origin file), the parent's source file, or the ApplicationSet's file */
  where?: Where
  project: string
  sources: ModelSource[]
  destination: Destination
  syncPolicy?: SyncPolicy
  syncOptions: string[]
  finalizers: string[]
  annotations: Record<string, string>
  labels: Record<string, string>
  /** the Application as read (generated ones: as the ApplicationSet would make it) */
  json: Record<string, any>
  render: AppRender
}

export interface ModelAppSet {
  name: string
  namespace: string
  where?: Where
  /** the app that renders it, when not applied by hand */
  parent?: string
  /** Applications it generates from this repo, by name */
  generates: string[]
  /** generators not read (cluster, SCM, pull request, matrix, ... or another repo) */
  notRead: string[]
}

export interface ModelImageUpdater {
  name: string
  namespace?: string
  where: Where
  /** the app that renders it (undefined: in no app's source, only in a file) */
  renderedBy?: string
  apiVersion: string
  json: Record<string, any>
  /** Applications it selects (namePattern globs, labelSelectors), by name */
  selects: string[]
}

export interface VaultStore {
  kind: 'ClusterSecretStore' | 'SecretStore'
  name: string
  namespace?: string
  where: Where
  renderedBy?: string
  /** spec.provider.vault.server */
  server: string
  host: string
  /** the Argo CD cluster Vault runs on, when it can be told */
  cluster?: ArgoCluster
  /** how the cluster was told (or why it cannot be) */
  clusterWhy: string
}

export interface RepoModel {
  repoDir: string
  /** repo URLs that name this repo (settings, origin, what its own Applications use) */
  repoUrls: string[]
  clusters: ArgoCluster[]
  applications: ModelApp[]
  applicationSets: ModelAppSet[]
  imageUpdaters: ModelImageUpdater[]
  vaultStores: VaultStore[]
  /** what the model could not read, one line each (files that do not parse, generators not read) */
  notes: string[]
  /** how long the load took (ms) and how many files and kustomize builds it took */
  cost: { ms: number; files: number; kustomizeBuilds: number }
}
