// Builds a realistic "before" GitOps repository (as the homelab operator has it before the setup)
// in a temp folder, with a bare `origin` it has been pushed to. Used by tests, the sandbox and the demo.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { execFileSync } from 'node:child_process'

export const SAMPLE_REPO_URL = 'https://github.com/meirongdev/homelab.git'
export const SAMPLE_IMAGE_TAG = 'sha-3f2c1ab'
/** squoosh runs a Docker Hub image with version tags */
export const SAMPLE_SQUOOSH_IMAGE = 'dko0/squoosh'
export const SAMPLE_SQUOOSH_TAG = '1.12.0'
/** homepage runs a GHCR image on latest (digest strategy) */
export const SAMPLE_HOMEPAGE_IMAGE = 'ghcr.io/gethomepage/homepage'

export const sampleFiles: Record<string, string> = {
  'argocd/projects/homelab.yaml': `---
# 家庭实验室的 AppProject
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: homelab
  namespace: argocd
spec:
  description: "Homelab apps"
  sourceRepos:
    - ${SAMPLE_REPO_URL}   # 只允许本仓库
  destinations:
    - namespace: '*'
      server: https://kubernetes.default.svc
  clusterResourceWhitelist:
    - group: '*'
      kind: '*'
`,
  'argocd/applications/personal-services.yaml': `---
# 个人服务：一个 Directory 应用
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: personal-services
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${SAMPLE_REPO_URL}
    targetRevision: main
    path: k8s/helm/manifests
    directory:
      # 只同步这些文件
      include: "{calibre-web.yaml,it-tools.yaml,stirling-pdf.yaml,squoosh.yaml,homepage.yaml}"
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
`,
  'argocd/applications/vault-eso.yaml': `---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: vault-eso
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${SAMPLE_REPO_URL}
    targetRevision: main
    path: k8s/helm/manifests
    directory:
      include: '{vault-eso-config.yaml,cloudflare-external-secret.yaml}'  # ESO 配置
  destination:
    server: https://kubernetes.default.svc
    namespace: external-secrets
  syncPolicy:
    automated:
      prune: true
`,
  'argocd/applications/calibre-web.yaml': `# 不应被修改
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: calibre-web-extra
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${SAMPLE_REPO_URL}
    targetRevision: main
    path: k8s/helm/calibre
  destination:
    server: https://kubernetes.default.svc
    namespace: calibre
`,
  'k8s/helm/manifests/it-tools.yaml': `---
# it-tools：开发者工具箱
apiVersion: apps/v1
kind: Deployment
metadata:
  name: it-tools
  namespace: personal-services
  labels:
    app: it-tools
    app.kubernetes.io/part-of: homelab
spec:
  replicas: 1
  selector:
    matchLabels:
      app: it-tools
  template:
    metadata:
      labels:
        app: it-tools
    spec:
      containers:
        - name: it-tools
          image: "ghcr.io/meirongdev/it-tools:${SAMPLE_IMAGE_TAG}"
          ports:
            - containerPort: 80
              name: http
          resources:
            requests:
              cpu: 10m
              memory: 32Mi
            limits:
              memory: 128Mi
---
apiVersion: v1
kind: Service
metadata:
  name: it-tools
  namespace: personal-services
  labels:
    app: it-tools
spec:
  type: ClusterIP
  selector:
    app: it-tools
  ports:
  - name: http
    port: 80
    targetPort: http
`,
  'k8s/helm/manifests/squoosh.yaml': `# squoosh：图片压缩（Docker Hub 镜像，版本号标签）
apiVersion: apps/v1
kind: Deployment
metadata:
  name: squoosh
  namespace: personal-services
  labels:
    app: squoosh
spec:
  replicas: 1
  selector:
    matchLabels:
      app: squoosh
  template:
    metadata:
      labels:
        app: squoosh
    spec:
      containers:
        - name: squoosh
          image: dko0/squoosh:${SAMPLE_SQUOOSH_TAG}
          ports:
            - containerPort: 8080
              name: http
---
apiVersion: v1
kind: Service
metadata:
  name: squoosh
  namespace: personal-services
spec:
  selector:
    app: squoosh
  ports:
    - name: http
      port: 80
      targetPort: http
`,
  // homepage as its upstream manifest ships it: its own Namespace, RBAC to read the cluster, a
  // ConfigMap, the Deployment (ghcr.io image on latest) and a Service, with comments between.
  'k8s/helm/manifests/homepage.yaml': `# homepage：导航页
apiVersion: v1
kind: Namespace
metadata:
  name: homepage
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: homepage
  namespace: homepage
---
# 只读集群信息（显示服务状态）
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: homepage
rules:
  - apiGroups: [""]
    resources: [namespaces, pods, nodes]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: homepage
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: homepage
subjects:
  - kind: ServiceAccount
    name: homepage
    namespace: homepage
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: homepage
  namespace: homepage
data:
  settings.yaml: |
    title: 主页
---
# 以下两项为应用本身
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: homepage
  namespace: homepage
  labels:
    app: homepage
spec:
  replicas: 1
  selector:
    matchLabels:
      app: homepage
  template:
    metadata:
      labels:
        app: homepage
    spec:
      serviceAccountName: homepage
      containers:
        - name: homepage
          image: ghcr.io/gethomepage/homepage:latest
          ports:
            - containerPort: 3000
              name: http
          volumeMounts:
            - name: config
              mountPath: /app/config
      volumes:
        - name: config
          configMap:
            name: homepage
---
apiVersion: v1
kind: Service
metadata:
  name: homepage
  namespace: homepage
spec:
  selector:
    app: homepage
  ports:
    - name: http
      port: 3000
      targetPort: http
`,
  'k8s/helm/manifests/calibre-web.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: calibre-web
  namespace: personal-services
data:
  library: /books
`,
  'k8s/helm/manifests/vault-eso-config.yaml': `---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: http://vault.vault.svc:8200
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: vault-token
          namespace: external-secrets
          key: token
`,
  'k8s/helm/manifests/cloudflare-external-secret.yaml': `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: cloudflare-api-token
  namespace: external-secrets
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: cloudflare-api-token
  data:
    - secretKey: token
      remoteRef:
        key: secret/homelab/cloudflare
        property: token
`,
  'k8s/helm/values/calibre.yaml': `replicaCount: 1
`,
  'README.md': '# homelab\n\nGitOps for the homelab.\n',
}

export interface SampleRepo {
  /** the working checkout (GITOPS_REPO_DIR) */
  dir: string
  /** the bare repository that `origin` points to */
  origin: string
  /** parent temp folder holding both */
  root: string
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'homelab', GIT_AUTHOR_EMAIL: 'homelab@example.com', GIT_COMMITTER_NAME: 'homelab', GIT_COMMITTER_EMAIL: 'homelab@example.com' },
  }).trim()
}

/** Creates the sample repo (files overridable/removable via `overrides`; null removes) pushed to a bare origin. */
export function createSampleRepo(overrides: Record<string, string | null> = {}, root = mkdtempSync(join(tmpdir(), 'gitops-'))): SampleRepo {
  const dir = join(root, 'homelab')
  const origin = join(root, 'origin.git')
  mkdirSync(dir, { recursive: true })
  const files = { ...sampleFiles, ...overrides }
  for (const [rel, content] of Object.entries(files)) {
    if (content === null) continue
    const abs = join(dir, rel)
    mkdirSync(dirname(abs), { recursive: true })
    writeFileSync(abs, content)
  }
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', origin])
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'config', 'user.name', 'homelab')
  git(dir, 'config', 'user.email', 'homelab@example.com')
  git(dir, 'add', '-A')
  git(dir, 'commit', '-q', '-m', 'homelab before image updater')
  git(dir, 'remote', 'add', 'origin', origin)
  git(dir, 'push', '-q', '-u', 'origin', 'main')
  return { dir, origin, root }
}
