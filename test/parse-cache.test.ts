// Parsed YAML kept between runs (src/repo-model/parse-cache.ts): a later process reads the parse
// back instead of parsing again, a changed file is parsed again, what JSON cannot hold is not kept,
// and a field's line still comes from the text.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keptParse, openParseCache, parseKey, saveParseCache } from '../src/repo-model/parse-cache.ts'
import { parseFile } from '../src/repo-model/scan.ts'

test('a parse kept by one run is read back by the next; a changed text is not; .inf is never kept', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'parse-cache-'))
  const other = mkdtempSync(join(tmpdir(), 'parse-cache-other-'))
  t.after(() => [state, other].forEach((d) => rmSync(d, { recursive: true, force: true })))
  const text = '# 注释\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: "1"\n'
  const inf = 'kind: ConfigMap\nmetadata: {name: b}\ndata: {x: .inf}\n'
  await openParseCache(state, '/repo', true)
  const first = parseFile(text, 'a.yaml')
  parseFile(inf, 'b.yaml')
  await saveParseCache()
  const [kept] = readdirSync(join(state, 'parsed-yaml'))
  assert.ok(kept)
  assert.equal(statSync(join(state, 'parsed-yaml')).mode & 0o077, 0, 'the folder is owner-only, as STATE_DIR')
  assert.equal(statSync(join(state, 'parsed-yaml', kept)).mode & 0o077, 0, 'the file too')
  // another repo in between, then this one again: read from disk, as a new process would
  await openParseCache(other, '/other', false)
  await openParseCache(state, '/repo', false)
  assert.deepEqual(keptParse(parseKey('a.yaml', text))?.docs.map((d) => d.json), first.docs.map((d) => d.json))
  assert.equal(keptParse(parseKey('b.yaml', inf)), undefined, 'Infinity does not survive JSON')
  assert.equal(keptParse(parseKey('a.yaml', `${text}# changed\n`)), undefined)
  // lines inside a document still come from the text
  assert.equal(parseFile(text.replace('name: a', 'name: a '), 'a.yaml').lineAt(0, ['metadata', 'name']), 5)
})
