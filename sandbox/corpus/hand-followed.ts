// Corpus shape "hand-followed": the plan's own layout (the sample repo's) as its owner left it after
// following the plan by hand, months before chart 1.2: it-tools moved into its own Kustomize folder
// with an `imageupdater.yaml` beside it (`spec.namespace: argocd`, one applicationRef with
// `useAnnotations: true`), the it-tools Application carrying the `argocd-image-updater.argoproj.io/*`
// annotations, the chart 1.1.1 Image Updater Application and its values, the GitHub ExternalSecrets
// in the vault-eso include, and a claim of class `nfs-client` (installed by hand) in personal-services.
import { SAMPLE_REPO_URL, SAMPLE_IMAGE_TAG, sampleFiles } from '../sample-repo.ts'
import type { CorpusShape } from './build.ts'

const M = 'k8s/helm/manifests'

/** The sample's it-tools.yaml, split in two as the plan says. */
const [itToolsDeployment, itToolsService] = sampleFiles[`${M}/it-tools.yaml`]!.replace(/^---\n/, '').split('\n---\n')

const files: Record<string, string> = {
  ...sampleFiles,
  [`${M}/it-tools.yaml`]: undefined as unknown as string,
  'argocd/projects/homelab.yaml': sampleFiles['argocd/projects/homelab.yaml']!.replace(
    `    - ${SAMPLE_REPO_URL}   # 只允许本仓库\n`,
    `    - ${SAMPLE_REPO_URL}   # 只允许本仓库\n    - https://argoproj.github.io/argo-helm   # Image Updater 的 chart（按计划手工加的）\n    - https://prometheus-community.github.io/helm-charts\n`,
  ),
  'argocd/applications/personal-services.yaml': sampleFiles['argocd/applications/personal-services.yaml']!.replace(
    'include: "{calibre-web.yaml,it-tools.yaml,stirling-pdf.yaml,squoosh.yaml,homepage.yaml}"',
    'include: "{calibre-web.yaml,calibre-library.yaml,stirling-pdf.yaml,squoosh.yaml,homepage.yaml}"  # it-tools 已移到自己的目录',
  ),
  'argocd/applications/vault-eso.yaml': sampleFiles['argocd/applications/vault-eso.yaml']!.replace(
    "include: '{vault-eso-config.yaml,cloudflare-external-secret.yaml}'",
    "include: '{vault-eso-config.yaml,cloudflare-external-secret.yaml,github-external-secret.yaml,grafana-external-secret.yaml}'",
  ),
  // calibre-web-extra's folder (the sample leaves it out; here the owner has it)
  'k8s/helm/calibre/calibre-web.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: calibre-web-extra
  namespace: calibre
data:
  theme: caliBlur
`,
  'argocd/applications/monitoring.yaml': `# 监控：公共 chart
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: kube-prometheus-stack
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: https://prometheus-community.github.io/helm-charts
    chart: kube-prometheus-stack
    targetRevision: 75.15.1
    helm:
      valuesObject:
        grafana: { admin: { existingSecret: grafana-admin } }
  destination:
    server: https://kubernetes.default.svc
    namespace: monitoring
  syncPolicy:
    automated: { prune: true, selfHeal: true }
    syncOptions: [CreateNamespace=true, ServerSideApply=true]
`,
  [`${M}/grafana-external-secret.yaml`]: `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: grafana-admin
  namespace: monitoring
spec:
  refreshInterval: 1h
  secretStoreRef: { kind: ClusterSecretStore, name: vault-backend }
  target: { name: grafana-admin }
  data:
    - { secretKey: admin-user, remoteRef: { key: secret/homelab/grafana, property: admin-user } }
    - { secretKey: admin-password, remoteRef: { key: secret/homelab/grafana, property: admin-password } }
`,
  [`${M}/calibre-library.yaml`]: `# 书库放在 NAS 上：nfs-client 存储类是手工装的 nfs-subdir-external-provisioner（不在仓库里）
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: calibre-library
  namespace: personal-services
spec:
  accessModes: [ReadWriteMany]
  storageClassName: nfs-client
  resources:
    requests:
      storage: 20Gi
`,
  [`${M}/it-tools/kustomization.yaml`]: `# 按计划手工改的（2025-06）
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
  - imageupdater.yaml
`,
  [`${M}/it-tools/deployment.yaml`]: `${itToolsDeployment}\n`.replace(/\n+$/, '\n'),
  [`${M}/it-tools/service.yaml`]: `${itToolsService}`.replace(/\n*$/, '\n'),
  [`${M}/it-tools/imageupdater.yaml`]: `# Image Updater 1.1：配置在 Application 的注解里（useAnnotations）
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: it-tools
  namespace: argocd
spec:
  namespace: argocd
  applicationRefs:
    - namePattern: it-tools
      useAnnotations: true
`,
  [`${M}/github-external-secret.yaml`]: `# GitHub token：拉 GHCR 镜像 + 回写 git
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: ghcr-pull-secret
  namespace: argocd
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: ghcr-pull-secret
    creationPolicy: Owner
    template:
      type: kubernetes.io/dockerconfigjson
      data:
        .dockerconfigjson: '{"auths":{"ghcr.io":{"username":"{{ .username }}","password":"{{ .pat }}","auth":"{{ printf "%s:%s" .username .pat | b64enc }}"}}}'
  data:
    - secretKey: username
      remoteRef: { key: secret/homelab/github, property: username }
    - secretKey: pat
      remoteRef: { key: secret/homelab/github, property: pat }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: git-creds
  namespace: argocd
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: vault-backend
  target:
    name: git-creds
    creationPolicy: Owner
  data:
    - secretKey: username
      remoteRef: { key: secret/homelab/github, property: username }
    - secretKey: password
      remoteRef: { key: secret/homelab/github, property: pat }
`,
  'argocd/applications/it-tools.yaml': `# it-tools 单独成一个 Kustomize 应用，Image Updater 才能回写
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: it-tools
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: it-tools=ghcr.io/meirongdev/it-tools
    argocd-image-updater.argoproj.io/it-tools.update-strategy: newest-build
    argocd-image-updater.argoproj.io/it-tools.allow-tags: regexp:^sha-[0-9a-f]{7}$
    argocd-image-updater.argoproj.io/it-tools.pull-secret: pullsecret:argocd/ghcr-pull-secret
    argocd-image-updater.argoproj.io/write-back-method: git:secret:argocd/git-creds
    argocd-image-updater.argoproj.io/git-branch: main
spec:
  project: homelab
  source:
    repoURL: ${SAMPLE_REPO_URL}
    targetRevision: main
    path: ${M}/it-tools
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
`,
  'argocd/applications/argocd-image-updater.yaml': `# Argo CD Image Updater（chart 1.1.1，按计划手工装的）
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: argocd-image-updater
  namespace: argocd
spec:
  project: homelab
  sources:
    - repoURL: https://argoproj.github.io/argo-helm
      chart: argocd-image-updater
      targetRevision: 1.1.1
      helm:
        releaseName: argocd-image-updater
        valueFiles:
          - $values/k8s/helm/values/argocd-image-updater.yaml
    - repoURL: ${SAMPLE_REPO_URL}
      targetRevision: main
      ref: values
  destination:
    server: https://kubernetes.default.svc
    namespace: argocd
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - ServerSideApply=true
`,
  'k8s/helm/values/argocd-image-updater.yaml': `config:
  log.level: info
  registries:
    - name: GitHub Container Registry
      prefix: ghcr.io
      api_url: https://ghcr.io
      credentials: pullsecret:argocd/ghcr-pull-secret
      default: true
resources:
  requests: { cpu: 10m, memory: 64Mi }
  limits: { memory: 256Mi }
`,
}
delete files[`${M}/it-tools.yaml`]

export const handFollowed: CorpusShape = {
  name: 'hand-followed',
  shape: "the plan's layout after the owner followed it by hand: it-tools in its own Kustomize folder with an imageupdater.yaml (spec.namespace, useAnnotations) and annotated Application, chart 1.1.1 Image Updater; an nfs-client claim",
  repoUrl: SAMPLE_REPO_URL,
  imageTag: SAMPLE_IMAGE_TAG,
  files,
  settings: { GITHUB_USERNAME: 'meirongdev' },
  needs: ['plan-followed-by-hand'],
  storageClassesOutOfBand: ['nfs-client'],
}
