// Byte-exactness of the YAML edits: every test checks the full output text and, through a line
// diff, that only the intended lines changed.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { diffArrays } from 'diff'
import { parse } from 'yaml'
import { SetupError } from '../src/errors.ts'
import {
  appendToSequence,
  formatBraceList,
  getAt,
  parseBraceList,
  parseYamlDocuments,
  setScalar,
  singleDocument,
  splitDocuments,
} from '../src/yaml-edit.ts'

/** Lines removed from `before` and added in `after`, each with its line ending (so CRLF/LF changes show up). */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const lines = (s: string) => s.split(/(?<=\n)/)
  const removed: string[] = []
  const added: string[] = []
  for (const part of diffArrays(lines(before), lines(after))) {
    if (part.removed) removed.push(...part.value)
    if (part.added) added.push(...part.value)
  }
  return { removed, added }
}

/** Runs fn, expects a SetupError, and returns it for message/fix assertions. */
function setupError(fn: () => unknown): SetupError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof SetupError, `expected a SetupError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a SetupError, nothing was thrown')
}

const REPO = 'https://github.com/meirongdev/homelab.git'

const APPLICATION = `---
# 个人服务：一个 Directory 应用
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: personal-services
  namespace: argocd
spec:
  project: homelab
  source:
    repoURL: ${REPO}
    targetRevision: main   # 分支
    path: k8s/helm/manifests
    directory:
      # 只同步这些文件
      include: "{calibre-web.yaml,it-tools.yaml,homepage.yaml}"
  destination:
    server: https://kubernetes.default.svc
    namespace: personal-services
  syncPolicy:
    syncOptions:
    - CreateNamespace=true
    # 以后再加

  # 其他
  ignoreDifferences: []
`

const PROJECT = `---
# 家庭实验室的 AppProject
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: homelab
spec:
  description: "Homelab apps"
  sourceRepos:
    - ${REPO}   # 只允许本仓库

  # 目标
  destinations:
    - namespace: '*'
      server: https://kubernetes.default.svc
`

const INCLUDE = ['spec', 'source', 'directory', 'include']

describe('parseYamlDocuments', () => {
  test('parses every document of a multi-document file with Chinese comments', () => {
    const docs = parseYamlDocuments(`${APPLICATION}---\n# 第二个\n${PROJECT.replace(/^---\n/, '')}`, 'a.yaml')
    assert.deepEqual(
      docs.map((d) => d.get('kind')),
      ['Application', 'AppProject'],
    )
  })

  test('a syntax error names file, line, reason and a fix', () => {
    const err = setupError(() => parseYamlDocuments('---\n# 注释\na: 1\nb: c: d\n', 'apps/bad.yaml'))
    assert.equal(err.message, 'apps/bad.yaml:4: YAML does not parse: Nested mappings are not allowed in compact mappings')
    assert.equal(err.fix, 'fix the YAML syntax at that line and rerun')
  })

  test('the line of an error in a later document counts from the top of the file, CRLF included', () => {
    const text = 'a: 1\r\n---\r\n# 第二个\r\nb: 2\r\nc: d: e\r\nf: 1\r\n'
    const err = setupError(() => parseYamlDocuments(text, 'x.yaml'))
    assert.equal(err.message, 'x.yaml:5: YAML does not parse: Nested mappings are not allowed in compact mappings')
  })

  test('duplicate keys are a syntax error at the duplicate', () => {
    const err = setupError(() => parseYamlDocuments('a: 1\nb: 2\na: 3\n', 'dup.yaml'))
    assert.match(err.message, /^dup\.yaml:3: YAML does not parse: Map keys must be unique/)
  })

  test('an empty file has no documents', () => {
    assert.equal(parseYamlDocuments('', 'e.yaml').length, 0)
  })
})

describe('singleDocument', () => {
  test('accepts a leading --- and comments', () => {
    const doc = singleDocument(APPLICATION, 'app.yaml')
    assert.equal(doc.getIn(['metadata', 'name']), 'personal-services')
  })

  test('a trailing empty --- does not count as a document', () => {
    assert.equal(singleDocument('a: 1\n---\n', 'x.yaml').get('a'), 1)
  })

  test('two documents: the error points at the second one', () => {
    const err = setupError(() => singleDocument('# 注释\na: 1\n---\nb: 2\n', 'two.yaml'))
    assert.equal(err.message, 'two.yaml:3: expected one YAML document, found 2')
    assert.match(err.fix, /one YAML document/)
  })

  test('an empty or comment-only file has none', () => {
    assert.equal(setupError(() => singleDocument('', 'e.yaml')).message, 'e.yaml:1: expected one YAML document, found 0')
    assert.equal(
      setupError(() => singleDocument('---\n# 只有注释\n', 'c.yaml')).message,
      'c.yaml:1: expected one YAML document, found 0',
    )
  })
})

describe('getAt', () => {
  test('returns values as JS with the line of their key', () => {
    assert.deepEqual(getAt(APPLICATION, 'app.yaml', INCLUDE), {
      value: '{calibre-web.yaml,it-tools.yaml,homepage.yaml}',
      line: 16,
    })
    assert.deepEqual(getAt(APPLICATION, 'app.yaml', ['spec', 'syncPolicy', 'syncOptions']), {
      value: ['CreateNamespace=true'],
      line: 21,
    })
    assert.deepEqual(getAt(PROJECT, 'p.yaml', ['spec', 'destinations', 0, 'namespace']), { value: '*', line: 14 })
  })

  test('sequence items have their own line', () => {
    assert.deepEqual(getAt(PROJECT, 'p.yaml', ['spec', 'sourceRepos', 0]), { value: REPO, line: 10 })
  })

  test('a missing path gives undefined and the line of the nearest existing parent', () => {
    assert.deepEqual(getAt(APPLICATION, 'app.yaml', ['spec', 'source', 'directory', 'exclude']), {
      value: undefined,
      line: 14,
    })
    assert.deepEqual(getAt(PROJECT, 'p.yaml', ['spec', 'sourceRepos', 3]), { value: undefined, line: 9 })
    // a path that runs through a scalar stops at it
    assert.deepEqual(getAt(APPLICATION, 'app.yaml', ['spec', 'project', 'name']), { value: undefined, line: 9 })
  })

  test('line numbers count CRLF lines', () => {
    assert.deepEqual(getAt('---\r\n# 注\r\na:\r\n  b: x\r\n', 'c.yaml', ['a', 'b']), { value: 'x', line: 4 })
  })
})

describe('setScalar', () => {
  test('keeps double quotes and the trailing comment of include', () => {
    const before = 'spec:\n  source:\n    directory:\n      include: "{a.yaml,b.yaml}"  # comment\n    path: x\n'
    const after = setScalar(before, 'app.yaml', INCLUDE, '{a.yaml,b.yaml,c.yaml}')
    assert.equal(after, 'spec:\n  source:\n    directory:\n      include: "{a.yaml,b.yaml,c.yaml}"  # comment\n    path: x\n')
    assert.deepEqual(lineDiff(before, after), {
      removed: ['      include: "{a.yaml,b.yaml}"  # comment\n'],
      added: ['      include: "{a.yaml,b.yaml,c.yaml}"  # comment\n'],
    })
  })

  test('edits only the include line of a realistic Application', () => {
    const after = setScalar(APPLICATION, 'app.yaml', INCLUDE, '{calibre-web.yaml,homepage.yaml}')
    assert.equal(
      after,
      APPLICATION.replace(
        '"{calibre-web.yaml,it-tools.yaml,homepage.yaml}"',
        '"{calibre-web.yaml,homepage.yaml}"',
      ),
    )
    const { removed, added } = lineDiff(APPLICATION, after)
    assert.equal(removed.length, 1)
    assert.equal(added.length, 1)
    assert.equal(added[0], '      include: "{calibre-web.yaml,homepage.yaml}"\n')
  })

  test('keeps single quotes (doubling a quote inside) and a Chinese trailing comment', () => {
    const before = "---\ndirectory:\n  include: '{a.yaml,b.yaml}'  # ESO 配置\n"
    const after = setScalar(before, 'v.yaml', ['directory', 'include'], "{a.yaml,it's.yaml}")
    assert.equal(after, "---\ndirectory:\n  include: '{a.yaml,it''s.yaml}'  # ESO 配置\n")
    assert.equal(parse(after).directory.include, "{a.yaml,it's.yaml}")
  })

  test('a plain scalar stays plain, keeping its trailing comment', () => {
    const after = setScalar(APPLICATION, 'app.yaml', ['spec', 'source', 'targetRevision'], 'release-1')
    assert.equal(after, APPLICATION.replace('targetRevision: main   # 分支', 'targetRevision: release-1   # 分支'))
    assert.deepEqual(lineDiff(APPLICATION, after).added, ['    targetRevision: release-1   # 分支\n'])
  })

  test('a plain string becomes double-quoted when plain would change its meaning', () => {
    const cases: [string, string][] = [
      ['1.0', '"1.0"'],
      ['true', '"true"'],
      ['', '""'],
      ['a: b', '"a: b"'],
      ['x #y', '"x #y"'],
      ['two\nlines', '"two\\nlines"'],
      ['- item', '"- item"'],
    ]
    for (const [value, written] of cases) {
      const after = setScalar('rev: main # 注\nz: 1\n', 'r.yaml', ['rev'], value)
      assert.equal(after, `rev: ${written} # 注\nz: 1\n`, `value ${JSON.stringify(value)}`)
      assert.equal(parse(after).rev, value)
    }
  })

  test('a plain number field takes a new plain number', () => {
    const before = 'spec:\n  replicas: 1  # 副本\n'
    assert.equal(setScalar(before, 'd.yaml', ['spec', 'replicas'], '2'), 'spec:\n  replicas: 2  # 副本\n')
  })

  test('an unchanged value returns the identical text', () => {
    assert.equal(setScalar(APPLICATION, 'app.yaml', INCLUDE, '{calibre-web.yaml,it-tools.yaml,homepage.yaml}'), APPLICATION)
    assert.equal(setScalar('spec:\n  replicas: 1\n', 'd.yaml', ['spec', 'replicas'], '1'), 'spec:\n  replicas: 1\n')
  })

  test('addresses sequence items by index (container image in a Deployment)', () => {
    const before = `apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: it-tools
          image: "ghcr.io/meirongdev/it-tools:sha-3f2c1ab"
          ports:
            - containerPort: 80
`
    const after = setScalar(before, 'd.yaml', ['spec', 'template', 'spec', 'containers', 0, 'image'], 'ghcr.io/meirongdev/it-tools:sha-new')
    assert.equal(after, before.replace(':sha-3f2c1ab"', ':sha-new"'))
    assert.deepEqual(lineDiff(before, after), {
      removed: ['          image: "ghcr.io/meirongdev/it-tools:sha-3f2c1ab"\n'],
      added: ['          image: "ghcr.io/meirongdev/it-tools:sha-new"\n'],
    })
  })

  test('keeps CRLF line endings', () => {
    const before = '---\r\n# 应用\r\nspec:\r\n  include: "{a.yaml}"  # 注\r\n  path: x\r\n'
    const after = setScalar(before, 'c.yaml', ['spec', 'include'], '{a.yaml,b.yaml}')
    assert.equal(after, '---\r\n# 应用\r\nspec:\r\n  include: "{a.yaml,b.yaml}"  # 注\r\n  path: x\r\n')
    assert.deepEqual(lineDiff(before, after).added, ['  include: "{a.yaml,b.yaml}"  # 注\r\n'])
  })

  test('a file without a trailing newline stays without one', () => {
    assert.equal(setScalar('a: 1\nrev: main', 'n.yaml', ['rev'], 'dev'), 'a: 1\nrev: dev')
  })

  test('fills an empty value, keeping the space before its comment', () => {
    assert.equal(setScalar('a:\nb: 1\n', 'e.yaml', ['a'], 'x'), 'a: x\nb: 1\n')
    assert.equal(setScalar('a:   # 待定\nb: 1\n', 'e.yaml', ['a'], 'x'), 'a:   x # 待定\nb: 1\n')
  })

  test('inside a flow list a plain value with a comma gets quoted', () => {
    assert.equal(setScalar('a: [x, y]  # 注\n', 'f.yaml', ['a', 1], 'p'), 'a: [x, p]  # 注\n')
    assert.equal(setScalar('a: [x, y]  # 注\n', 'f.yaml', ['a', 1], 'p, q'), 'a: [x, "p, q"]  # 注\n')
  })

  test('a map where a scalar is expected is an error at the key line', () => {
    const err = setupError(() => setScalar(APPLICATION, 'app.yaml', ['spec', 'source', 'directory'], 'x'))
    assert.equal(err.message, 'app.yaml:14: expected a scalar at spec.source.directory, found a map')
    assert.match(err.fix, /make spec\.source\.directory a single value/)
  })

  test('a list where a scalar is expected names the list', () => {
    const err = setupError(() => setScalar(APPLICATION, 'app.yaml', ['spec', 'syncPolicy', 'syncOptions'], 'x'))
    assert.equal(err.message, 'app.yaml:21: expected a scalar at spec.syncPolicy.syncOptions, found a list')
  })

  test('a missing path is an error at the nearest parent', () => {
    const err = setupError(() => setScalar(APPLICATION, 'app.yaml', ['spec', 'source', 'directory', 'exclude'], 'x'))
    assert.equal(err.message, 'app.yaml:14: expected a scalar at spec.source.directory.exclude, found nothing')
    assert.equal(err.fix, 'add spec.source.directory.exclude to app.yaml and rerun')
  })

  test('block scalars are refused rather than rewritten', () => {
    const err = setupError(() => setScalar('a: 1\nnote: |\n  多行\n', 'b.yaml', ['note'], 'x'))
    assert.equal(err.message, 'b.yaml:2: expected a one-line scalar at note, found a block scalar (| or >)')
  })

  test('a multi-document file is refused', () => {
    const err = setupError(() => setScalar('a: 1\n---\na: 2\n', 'm.yaml', ['a'], 'x'))
    assert.equal(err.message, 'm.yaml:2: expected one YAML document, found 2')
  })
})

describe('appendToSequence', () => {
  const HELM = 'https://argoproj.github.io/argo-helm'

  test('indented style: new item right after the last one, before the blank line and comment', () => {
    const after = appendToSequence(PROJECT, 'p.yaml', ['spec', 'sourceRepos'], HELM)
    assert.equal(
      after,
      PROJECT.replace(`    - ${REPO}   # 只允许本仓库\n`, `    - ${REPO}   # 只允许本仓库\n    - ${HELM}\n`),
    )
    assert.deepEqual(lineDiff(PROJECT, after), { removed: [], added: [`    - ${HELM}\n`] })
    assert.deepEqual(parse(after).spec.sourceRepos, [REPO, HELM])
  })

  test('non-indented style `key:\\n- a`, before trailing comments of the next key', () => {
    const after = appendToSequence(APPLICATION, 'app.yaml', ['spec', 'syncPolicy', 'syncOptions'], 'ServerSideApply=true')
    assert.equal(
      after,
      APPLICATION.replace('    - CreateNamespace=true\n', '    - CreateNamespace=true\n    - ServerSideApply=true\n'),
    )
    assert.deepEqual(lineDiff(APPLICATION, after), { removed: [], added: ['    - ServerSideApply=true\n'] })
  })

  test('top-level list without indentation and a wide `-   ` gap', () => {
    const before = '# 仓库\nrepos:\n-   a\n-   b\nnext: 1\n'
    assert.equal(appendToSequence(before, 'r.yaml', ['repos'], 'c'), '# 仓库\nrepos:\n-   a\n-   b\n-   c\nnext: 1\n')
  })

  test('after a list of maps', () => {
    const before = 'list:\n  - name: a\n    v: 1\n  - name: b\n    v: 2  # 注\nz: 1\n'
    const after = appendToSequence(before, 'l.yaml', ['list'], 'q')
    assert.equal(after, 'list:\n  - name: a\n    v: 1\n  - name: b\n    v: 2  # 注\n  - q\nz: 1\n')
  })

  test('a nested compact list `- - a`', () => {
    assert.equal(appendToSequence('- - a\n  - b\n- c\n', 'n.yaml', [0], 'z'), '- - a\n  - b\n  - z\n- c\n')
  })

  test('keeps CRLF line endings', () => {
    const before = 'spec:\r\n  repos:\r\n  - a  # 注释\r\n  # 下一个\r\n\r\n  other: 1\r\n'
    const after = appendToSequence(before, 'c.yaml', ['spec', 'repos'], 'b')
    assert.equal(after, 'spec:\r\n  repos:\r\n  - a  # 注释\r\n  - b\r\n  # 下一个\r\n\r\n  other: 1\r\n')
    assert.deepEqual(lineDiff(before, after), { removed: [], added: ['  - b\r\n'] })
  })

  test('a file without a trailing newline stays without one', () => {
    const before = '---\nrepos:\n  - a\n  - b'
    const after = appendToSequence(before, 'n.yaml', ['repos'], 'c')
    assert.equal(after, '---\nrepos:\n  - a\n  - b\n  - c')
    // the old last line only gains its newline, exactly as git shows it
    assert.deepEqual(lineDiff(before, after), { removed: ['  - b'], added: ['  - b\n', '  - c'] })
  })

  test('quotes a value that would not read back as the same plain string', () => {
    const before = 'repos:\n  - a\n'
    assert.equal(appendToSequence(before, 'q.yaml', ['repos'], 'k: v'), 'repos:\n  - a\n  - "k: v"\n')
    assert.equal(appendToSequence(before, 'q.yaml', ['repos'], 'true'), 'repos:\n  - a\n  - "true"\n')
    assert.equal(appendToSequence(before, 'q.yaml', ['repos'], '*'), 'repos:\n  - a\n  - "*"\n')
  })

  test('no-op when the value is already present, whatever its quoting', () => {
    assert.equal(appendToSequence(PROJECT, 'p.yaml', ['spec', 'sourceRepos'], REPO), PROJECT)
    const quoted = "repos:\n  - 'a'\n  - \"b\"\n"
    assert.equal(appendToSequence(quoted, 'q.yaml', ['repos'], 'b'), quoted)
  })

  test('flow lists: append inside the brackets, keeping the comment', () => {
    assert.equal(appendToSequence('repos: [a, b]  # 注\n', 'f.yaml', ['repos'], 'c'), 'repos: [a, b, c]  # 注\n')
    assert.equal(appendToSequence('repos: [a, b]\n', 'f.yaml', ['repos'], 'x, y'), 'repos: [a, b, "x, y"]\n')
    assert.equal(appendToSequence('repos: []\n', 'f.yaml', ['repos'], 'a'), 'repos: [a]\n')
    assert.equal(
      appendToSequence('repos: [\n    a,\n    b,\n]\n', 'f.yaml', ['repos'], 'c'),
      'repos: [\n    a,\n    b,\n    c,\n]\n',
    )
  })

  test('a missing list is an error at the nearest parent', () => {
    const err = setupError(() => appendToSequence(PROJECT, 'p.yaml', ['spec', 'namespaces'], 'x'))
    assert.equal(err.message, 'p.yaml:7: expected a list at spec.namespaces, found nothing')
    assert.equal(err.fix, 'add spec.namespaces to p.yaml as a YAML list and rerun')
  })

  test('a scalar, map or empty value where a list is expected is an error at its key', () => {
    const scalar = setupError(() => appendToSequence(PROJECT, 'p.yaml', ['spec', 'description'], 'x'))
    assert.equal(scalar.message, 'p.yaml:8: expected a list at spec.description, found a string')
    assert.match(scalar.fix, /make spec\.description a YAML list/)
    const map = setupError(() => appendToSequence(PROJECT, 'p.yaml', ['metadata'], 'x'))
    assert.equal(map.message, 'p.yaml:5: expected a list at metadata, found a map')
    const empty = setupError(() => appendToSequence('a: 1\nsourceRepos:\n', 'e.yaml', ['sourceRepos'], 'x'))
    assert.equal(empty.message, 'e.yaml:2: expected a list at sourceRepos, found an empty value')
  })
})

describe('splitDocuments', () => {
  const DEPLOYMENT = `---
# it-tools：开发者工具箱
apiVersion: apps/v1
kind: Deployment
metadata:
  name: it-tools
spec:
  replicas: 1
`
  const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: it-tools
spec:
  ports:
  - name: http
    port: 80
`

  test('gives each document its exact source, kind, name and start line', () => {
    const text = `${DEPLOYMENT}---\n# 服务\n${SERVICE}`
    const docs = splitDocuments(text, 'it-tools.yaml')
    assert.deepEqual(
      docs.map(({ source, kind, name, line }) => ({ source, kind, name, line })),
      [
        { source: DEPLOYMENT.replace(/^---\n/, ''), kind: 'Deployment', name: 'it-tools', line: 2 },
        { source: `# 服务\n${SERVICE}`, kind: 'Service', name: 'it-tools', line: 10 },
      ],
    )
    // `doc` is parsed from `source`: edits and lookups on the source line up with it
    assert.equal(docs[1]!.doc.get('kind'), 'Service')
    assert.equal(getAt(docs[1]!.source, 'it-tools.yaml', ['spec', 'ports', 0, 'port']).line + docs[1]!.line - 1, 18)
    assert.equal(text.split('\n')[17], '    port: 80')
  })

  test('keeps comments above the first ---, drops `...` and `--- # note` lines and empty documents', () => {
    const text = '# 文件头\n---\na: 1\n---   # 分隔\nkind: K\nmetadata: {name: n}\n...\n---\n---\nc: 3'
    const docs = splitDocuments(text, 'm.yaml')
    assert.deepEqual(
      docs.map(({ source, kind, name, line }) => ({ source, kind, name, line })),
      [
        { source: '# 文件头\na: 1\n', kind: undefined, name: undefined, line: 1 },
        { source: 'kind: K\nmetadata: {name: n}\n', kind: 'K', name: 'n', line: 5 },
        { source: 'c: 3', kind: undefined, name: undefined, line: 10 },
      ],
    )
  })

  test('keeps CRLF inside each source', () => {
    const docs = splitDocuments('kind: A\r\n---\r\nkind: B\r\n', 'c.yaml')
    assert.deepEqual(
      docs.map((d) => [d.source, d.kind, d.line]),
      [
        ['kind: A\r\n', 'A', 1],
        ['kind: B\r\n', 'B', 3],
      ],
    )
  })

  test('a single-document file is one entry; a syntax error names the file line', () => {
    assert.equal(splitDocuments(PROJECT, 'p.yaml').length, 1)
    const err = setupError(() => splitDocuments('a: 1\n---\nb: c: d\n', 'bad.yaml'))
    assert.equal(err.message, 'bad.yaml:3: YAML does not parse: Nested mappings are not allowed in compact mappings')
  })
})

describe('brace lists', () => {
  test('parses a plain brace list and a bare single pattern', () => {
    assert.deepEqual(parseBraceList('{a.yaml,b.yaml}'), ['a.yaml', 'b.yaml'])
    assert.deepEqual(parseBraceList('{a.yaml}'), ['a.yaml'])
    assert.deepEqual(parseBraceList('a.yaml'), ['a.yaml'])
    assert.deepEqual(parseBraceList('*.yaml'), ['*.yaml'])
  })

  test('refuses lists it cannot edit safely', () => {
    for (const include of ['{a,{b,c}}', '{a*.yaml,b.yaml}', '{a.yaml,b?.yaml}', 'dir/{a,b}', '{a,,b}', '{a, b}', '{a', '', '   ']) {
      assert.equal(parseBraceList(include), undefined, include)
    }
  })

  test('formats lists and round-trips', () => {
    assert.equal(formatBraceList(['a.yaml', 'b.yaml']), '{a.yaml,b.yaml}')
    assert.equal(formatBraceList(['a.yaml']), 'a.yaml')
    const include = '{calibre-web.yaml,it-tools.yaml,stirling-pdf.yaml}'
    assert.equal(formatBraceList(parseBraceList(include)!), include)
  })

  test('refuses an empty list and items that would break the braces', () => {
    assert.match(setupError(() => formatBraceList([])).message, /at least one file/)
    assert.match(setupError(() => formatBraceList(['a,b.yaml'])).message, /a,b\.yaml/)
  })
})

test('parsed YAML is kept by text: the same text parses once, other options or text parse anew, and the keep is bounded', async () => {
  const { parseYaml } = await import('../src/yaml-parse.ts')
  const text = `kind: ConfigMap\nmetadata: {name: kept-${Math.random()}}\n`
  const first = parseYaml(text)
  assert.equal(parseYaml(text), first, 'same text: the same documents')
  assert.notEqual(parseYaml(text, { prettyErrors: false }), first, 'other error options: parsed anew')
  assert.notEqual(parseYaml(`${text}# changed\n`), first)
  // errors stay with the documents, as parseAllDocuments gives them
  assert.ok(parseYaml('a: [1, 2\n')[0]!.errors.length > 0)
  for (let i = 0; i < 100; i++) parseYaml(`i: ${i}\n`)
  assert.notEqual(parseYaml(text), first, 'pushed out by 100 other texts: parsed anew')
})
