// Byte-exact edits of a user's GitOps YAML files. `String(doc)` re-flows a whole document (quotes,
// indentation, comment placement), which would turn a one-line change into a noisy diff, so every
// edit here locates the node with `parseAllDocuments` and splices only that node's source range
// (`node.range`: [start, valueEnd, nodeEnd] offsets into the text). Everything else stays untouched.
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, Scalar } from 'yaml'
import type { Document, Node } from 'yaml'
import { SetupError } from './errors.ts'
import { parseYaml } from './yaml-parse.ts'

export type YamlPath = (string | number)[]

const SYNTAX_FIX = 'fix the YAML syntax at that line and rerun'

/** Parses every document; on a syntax error throws SetupError(`${file}:${line}: YAML does not parse: ${reason}`, fix) */
export function parseYamlDocuments(text: string, file: string): readonly Document.Parsed[] {
  // prettyErrors off: the message stays one short sentence and `pos` is a plain offset
  const docs = parseYaml(text, { prettyErrors: false })
  for (const doc of docs) {
    const err = doc.errors[0]
    if (err) throw new SetupError(`${file}:${lineAt(text, err.pos[0])}: YAML does not parse: ${err.message}`, SYNTAX_FIX)
  }
  return docs
}

/** The single document of a one-document file (a leading `---` and comments allowed). Throws SetupError `${file}:${line}: expected one YAML document, found N` */
export function singleDocument(text: string, file: string): Document.Parsed {
  const docs = nonEmpty(parseYamlDocuments(text, file))
  if (docs.length === 1) return docs[0]!
  const line = docs.length === 0 ? 1 : lineAt(text, docs[1]!.range[0])
  const fix =
    docs.length === 0
      ? 'put the expected YAML content into this file and rerun'
      : 'keep exactly one YAML document in this file (move the other `---` sections to their own files) and rerun'
  throw new SetupError(`${file}:${line}: expected one YAML document, found ${docs.length}`, fix)
}

/** The value at path as JS (toJS) or undefined, plus its 1-based line (line of the nearest existing parent when missing). */
export function getAt(text: string, file: string, path: YamlPath): { value: unknown; line: number } {
  const doc = singleDocument(text, file)
  const at = locate(doc, path)
  return { value: at.node ? at.node.toJS(doc) : undefined, line: lineAt(text, at.lineOffset) }
}

/**
 * Replaces the scalar at path, keeping its quoting style and any trailing comment.
 * Returns the new text; identical text when the value is unchanged.
 */
export function setScalar(text: string, file: string, path: YamlPath, value: string): string {
  const doc = singleDocument(text, file)
  const at = locate(doc, path)
  const where = describePath(path)
  const line = lineAt(text, at.lineOffset)
  if (!at.node) {
    throw new SetupError(`${file}:${line}: expected a scalar at ${where}, found nothing`, `add ${where} to ${file} and rerun`)
  }
  const node = at.node
  if (!isScalar(node) || !node.range) {
    throw new SetupError(
      `${file}:${line}: expected a scalar at ${where}, found ${describeNode(node)}`,
      `make ${where} a single value (not a list or map) and rerun`,
    )
  }
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    throw new SetupError(
      `${file}:${line}: expected a one-line scalar at ${where}, found a block scalar (| or >)`,
      `write ${where} on one line (e.g. ${lastKey(path)}: "value") and rerun`,
    )
  }
  const wasString = typeof node.value === 'string'
  if (wasString ? node.value === value : node.source === value) return text
  const replacement = scalarSource(value, node.type, at.inFlow, wasString)
  const [start, end] = node.range
  if (start === end) {
    // an empty value (`key:` or `key:   # note`): keep `: ` and the space before a comment
    const before = text[start - 1] === ':' ? ' ' : ''
    const after = text[start] === '#' ? ' ' : ''
    return text.slice(0, start) + before + replacement + after + text.slice(end)
  }
  return text.slice(0, start) + replacement + text.slice(end)
}

/**
 * Appends a string item to the sequence at path, matching the existing items' indentation and
 * `- ` style, right after the last item. No-op (same text) when the value is already present.
 */
export function appendToSequence(text: string, file: string, path: YamlPath, value: string): string {
  const doc = singleDocument(text, file)
  const at = locate(doc, path)
  const where = describePath(path)
  const line = lineAt(text, at.lineOffset)
  if (!at.node || !isSeq(at.node) || !at.node.range) {
    const found = at.node ? describeNode(at.node) : 'nothing'
    throw new SetupError(
      `${file}:${line}: expected a list at ${where}, found ${found}`,
      at.node
        ? `make ${where} a YAML list ("- item" lines or [a, b]) and rerun`
        : `add ${where} to ${file} as a YAML list and rerun`,
    )
  }
  const seq = at.node
  const range = at.node.range
  const present = seq.items.some((item) => isScalar(item) && String(item.value) === value)
  if (present) return text
  if (seq.flow) return appendToFlowSequence(text, seq.items as Node[], range, value)
  return appendToBlockSequence(text, range, seq.items as Node[], value)
}

/**
 * Splits a multi-document file into each document's exact source text, without the `---` separator
 * line (and without `...` end markers or `%` directives). Comment lines before a `---` stay with the
 * document that follows it only for the first document; elsewhere the parser gives them to the
 * document above. `line` is the 1-based file line of the first character of `source`; a line n
 * inside `source` is file line `line + n - 1` unless comment lines stood above the first `---`
 * (then the content sits one line lower in the file). Empty documents are skipped.
 * `doc` is parsed from `source`, so its ranges are offsets into `source`.
 */
export function splitDocuments(
  text: string,
  file: string,
): { source: string; kind?: string; name?: string; line: number; doc: Document.Parsed }[] {
  const all = parseYamlDocuments(text, file)
  const result: { source: string; kind?: string; name?: string; line: number; doc: Document.Parsed }[] = []
  all.forEach((doc, i) => {
    if (isEmptyDocument(doc)) return
    const regionStart = i === 0 ? 0 : doc.range[0]
    const regionEnd = i + 1 < all.length ? all[i + 1]!.range[0] : text.length
    const { offset, source } = stripMarkers(text.slice(regionStart, regionEnd))
    const own = parseYamlDocuments(source, file)[0] ?? doc
    const kind = own.get('kind')
    const name = own.getIn(['metadata', 'name'])
    result.push({
      source,
      kind: typeof kind === 'string' ? kind : undefined,
      name: typeof name === 'string' ? name : undefined,
      line: lineAt(text, regionStart + offset),
      doc: own,
    })
  })
  return result
}

/**
 * Brace-glob include lists as Argo CD uses them: "{a.yaml,b.yaml}" <-> ['a.yaml','b.yaml']; a single
 * pattern without braces is a one-item list. Undefined when the string is not a plain brace list
 * (nested braces, wildcards inside braces, text around the braces, empty or space-padded items).
 */
export function parseBraceList(include: string): string[] | undefined {
  if (include.trim() === '') return undefined
  if (!include.includes('{') && !include.includes('}')) return [include]
  const match = /^\{([^{}]*)\}$/.exec(include)
  if (!match) return undefined
  const items = match[1]!.split(',')
  const plain = items.every((item) => item !== '' && item.trim() === item && !/[*?[\]\\!]/.test(item))
  return plain ? items : undefined
}

/** The inverse of parseBraceList: one item stays bare, several become "{a,b}". */
export function formatBraceList(items: string[]): string {
  if (items.length === 0) {
    // an empty include would make Argo CD sync every file in the folder
    throw new SetupError('an include list needs at least one file', 'keep at least one file in the include list')
  }
  const bad = items.find((item) => item === '' || /[{},]/.test(item))
  if (bad !== undefined) {
    throw new SetupError(`cannot put "${bad}" into a brace include list`, 'use plain file names without braces or commas')
  }
  return items.length === 1 ? items[0]! : `{${items.join(',')}}`
}

// ---- locating nodes -------------------------------------------------------------------------

interface Located {
  /** the node at the path, undefined when missing */
  node?: Node
  /** where to point the user: the key of the last found map entry, or the last found item */
  lineOffset: number
  /** inside a flow collection ([..] or {..}), where plain scalars may not contain , [ ] { } */
  inFlow: boolean
}

function locate(doc: Document.Parsed, path: YamlPath): Located {
  let node: Node | undefined = doc.contents ?? undefined
  let lineOffset = node?.range?.[0] ?? doc.range[0]
  let inFlow = false
  for (const segment of path) {
    if (!node) break
    let next: Node | undefined
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment))
      if (pair) {
        next = (pair.value as Node | null) ?? undefined
        const keyRange = (pair.key as Node).range
        if (keyRange) lineOffset = keyRange[0]
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = (node.items[segment] as Node | null | undefined) ?? undefined
      if (next?.range) lineOffset = next.range[0]
    }
    if (!next) return { node: undefined, lineOffset, inFlow }
    inFlow ||= (isMap(node) || isSeq(node)) && node.flow === true
    node = next
  }
  return { node, lineOffset, inFlow }
}

function describePath(path: YamlPath): string {
  if (path.length === 0) return 'the document root'
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('')
}

function lastKey(path: YamlPath): string {
  const key = [...path].reverse().find((seg) => typeof seg === 'string')
  return key ?? 'value'
}

function describeNode(node: Node): string {
  if (isMap(node)) return 'a map'
  if (isSeq(node)) return 'a list'
  if (isAlias(node)) return 'an alias'
  if (isScalar(node)) {
    if (node.value === null) return 'an empty value'
    if (typeof node.value === 'string') return 'a string'
    return `a ${typeof node.value}`
  }
  return 'something else'
}

// ---- writing scalars ------------------------------------------------------------------------

/** The source text for value in the given quoting style; plain only where it reads back the same. */
function scalarSource(value: string, type: Scalar.Type | undefined, inFlow: boolean, mustStayString: boolean): string {
  if (type === Scalar.PLAIN && isValidPlain(value, inFlow, mustStayString)) return value
  if (type === Scalar.QUOTE_SINGLE && !/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(value)) {
    return `'${value.replace(/'/g, "''")}'`
  }
  return doubleQuoted(value)
}

function doubleQuoted(value: string): string {
  // JSON escapes are valid YAML escapes; YAML also wants DEL, C1 controls, line/paragraph separators escaped
  return JSON.stringify(value).replace(/[\x7f-\x9f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * True when `value` written plain reads back as the same value: a string stays a string ("true",
 * "1.0" or "" would not), a number/boolean field may take any plain value whose text is unchanged.
 */
function isValidPlain(value: string, inFlow: boolean, mustStayString: boolean): boolean {
  if (value === '' || /[\r\n]/.test(value)) return false
  const probe = inFlow ? `[${value}]` : `- ${value}\n`
  // parsed directly: a probe per scalar would push the repo's files out of parseYaml's kept texts
  const docs = parseAllDocuments(probe) as Document.Parsed[]
  if (docs.length !== 1 || docs[0]!.errors.length > 0) return false
  const seq = docs[0]!.contents
  if (!isSeq(seq) || seq.items.length !== 1) return false
  const item = seq.items[0]
  if (!isScalar(item) || item.type !== Scalar.PLAIN) return false
  if (mustStayString) return item.value === value
  return String(item.value) === value || item.source === value
}

// ---- appending to sequences -----------------------------------------------------------------

function appendToBlockSequence(text: string, range: [number, number, number], items: Node[], value: string): string {
  const seqStart = range[0]
  const column = seqStart - lineStartOf(text, seqStart)
  const indent = ' '.repeat(column)
  const gap = itemGap(text, items[items.length - 1], column)
  const item = `${indent}-${gap}${isValidPlain(value, false, true) ? value : doubleQuoted(value)}`
  // the sequence ends after its last item's line (trailing comments and blank lines are not part of it)
  let at = range[1]
  if (text[at - 1] !== '\n') {
    const newline = text.indexOf('\n', at)
    at = newline === -1 ? text.length : newline + 1
  }
  const eol = lineEndingBefore(text, at)
  if (at === text.length && !text.endsWith('\n')) return text + eol + item
  return text.slice(0, at) + item + eol + text.slice(at)
}

/** The spacing between `-` and the item text used by the last item (`- a` -> " ", `-   a` -> "   "). */
function itemGap(text: string, last: Node | undefined, column: number): string {
  const start = last?.range?.[0]
  if (start === undefined) return ' '
  const dash = lineStartOf(text, start) + column
  if (text[dash] !== '-' || dash >= start) return ' '
  const gap = text.slice(dash + 1, start)
  return /^[ ]+$/.test(gap) ? gap : ' '
}

function appendToFlowSequence(text: string, items: Node[], range: [number, number, number], value: string): string {
  const source = isValidPlain(value, true, true) ? value : doubleQuoted(value)
  const last = items[items.length - 1]
  if (!last?.range) {
    // `[]`: the value goes right after the opening bracket
    const open = range[0] + 1
    return text.slice(0, open) + source + text.slice(open)
  }
  // reuse the separator between the first two items (", " or ",\n    " in a multi-line list)
  let separator = ', '
  const [first, second] = items
  if (first?.range && second?.range) {
    const between = text.slice(first.range[1], second.range[0])
    if (/^\s*,\s*$/.test(between)) separator = between
  }
  const at = last.range[1]
  return text.slice(0, at) + separator + source + text.slice(at)
}

// ---- text helpers ---------------------------------------------------------------------------

function lineAt(text: string, offset: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++
  return line
}

function lineStartOf(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1
}

/** The line ending of the line that ends just before `at`, else the file's first one, else "\n". */
function lineEndingBefore(text: string, at: number): string {
  if (text[at - 1] === '\n') return text[at - 2] === '\r' ? '\r\n' : '\n'
  return text.includes('\r\n') ? '\r\n' : '\n'
}

function isEmptyDocument(doc: Document.Parsed): boolean {
  const contents = doc.contents
  return contents === null || (isScalar(contents) && contents.value === null && contents.source === '')
}

function nonEmpty(docs: readonly Document.Parsed[]): Document.Parsed[] {
  return docs.filter((doc) => !isEmptyDocument(doc))
}

/**
 * Removes the `---` line, `%` directive lines and a trailing `...` line from one document's region.
 * `offset` is where `source` starts within the region (after any lines removed at the top).
 */
function stripMarkers(region: string): { offset: number; source: string } {
  const lines = region.split(/(?<=\n)/)
  const kept: string[] = []
  let offset = 0
  let seenStart = false
  let position = 0
  for (const line of lines) {
    const bare = line.replace(/\r?\n$/, '')
    const isDirective = !seenStart && bare.startsWith('%')
    const startMarker = !seenStart && /^---(?=[ \t]|$)/.exec(bare)
    let keep: string | undefined = line
    if (isDirective) keep = undefined
    else if (startMarker) {
      seenStart = true
      // `--- |` or `--- value`: keep the content after the marker; `---` or `--- # note`: drop the line
      const rest = line.slice(3).replace(/^[ \t]+/, '')
      keep = rest.replace(/\r?\n$/, '') === '' || rest.startsWith('#') ? undefined : rest
    } else if (/^\.\.\.(?=[ \t]|$)/.test(bare)) keep = undefined
    if (keep === undefined) {
      if (kept.length === 0) offset = position + line.length
    } else {
      if (kept.length === 0 && keep !== line) offset = position + line.length - keep.length
      kept.push(keep)
    }
    position += line.length
  }
  return { offset, source: kept.join('') }
}

// ---- removing and inserting map entries (repairs) ---------------------------------------------

/**
 * Removes the entry at path (its key line through the end of its value, with a comment on the
 * same line) from a block map; the rest of the text stays as it is. Same text when the key is absent.
 */
export function deleteKey(text: string, file: string, path: YamlPath): string {
  const doc = singleDocument(text, file)
  const parent = locate(doc, path.slice(0, -1)).node
  const key = path[path.length - 1]
  if (!parent || !isMap(parent)) return text
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key))
  if (!pair) return text
  if (parent.flow) {
    const where = describePath(path)
    throw new SetupError(`${file}:${lineAt(text, (pair.key as Node).range?.[0] ?? 0)}: cannot remove ${where} from a flow map ({...}) without rewriting it`, `remove ${where} from ${file} by hand, then rerun`)
  }
  const keyStart = (pair.key as Node).range![0]
  const start = lineStartOf(text, keyStart)
  const value = pair.value as Node | null
  const end = value?.range ? value.range[2] : (pair.key as Node).range![2]
  // through the end of the last line of the value (a trailing comment on it goes too)
  let stop = text.indexOf('\n', Math.max(end - 1, keyStart))
  stop = stop === -1 ? text.length : stop + 1
  if (text.slice(start, keyStart).trim() !== '') {
    throw new SetupError(`${file}:${lineAt(text, keyStart)}: ${describePath(path)} shares its line with other content`, `put ${describePath(path)} on a line of its own in ${file}, then rerun`)
  }
  return text.slice(0, start) + text.slice(stop)
}

/**
 * Adds `key: value` (value: a one-line scalar or pre-formatted block lines) as the last entry of the
 * block map at path, at the indentation of its other keys. Same text when the key is there already.
 */
export function insertKey(text: string, file: string, path: YamlPath, key: string, value: string | string[]): string {
  const doc = singleDocument(text, file)
  const at = locate(doc, path)
  const map = at.node
  const where = describePath(path)
  if (!map || !isMap(map) || map.flow || !map.range || map.items.length === 0)
    throw new SetupError(`${file}:${lineAt(text, at.lineOffset)}: expected a block map with entries at ${where}`, `add ${key} under ${where} in ${file} by hand, then rerun`)
  if (map.items.some((p) => isScalar(p.key) && String(p.key.value) === key)) return text
  const firstKey = (map.items[0]!.key as Node).range![0]
  const indent = ' '.repeat(firstKey - lineStartOf(text, firstKey))
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  const lines = Array.isArray(value) ? [`${indent}${key}:`, ...value.map((l) => `${indent}${l}`)] : [`${indent}${key}: ${value}`]
  let at2 = map.range[1]
  if (text[at2 - 1] !== '\n') {
    const nl = text.indexOf('\n', at2)
    at2 = nl === -1 ? text.length : nl + 1
  }
  const block = lines.join(eol) + eol
  if (at2 === text.length && !text.endsWith('\n')) return text + eol + block.slice(0, -eol.length)
  return text.slice(0, at2) + block + text.slice(at2)
}

/** Appends pre-formatted block lines (a `- ...` item and its continuation lines) after the last item of the block list at path. */
export function appendBlockItem(text: string, file: string, path: YamlPath, lines: string[]): string {
  const doc = singleDocument(text, file)
  const at = locate(doc, path)
  const seq = at.node
  const where = describePath(path)
  if (!seq || !isSeq(seq) || seq.flow || !seq.range || seq.items.length === 0)
    throw new SetupError(`${file}:${lineAt(text, at.lineOffset)}: expected a block list with items at ${where}`, `add the entry to ${where} in ${file} by hand, then rerun`)
  const column = seq.range[0] - lineStartOf(text, seq.range[0])
  const indent = ' '.repeat(column)
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  let end = seq.range[1]
  if (text[end - 1] !== '\n') {
    const nl = text.indexOf('\n', end)
    end = nl === -1 ? text.length : nl + 1
  }
  const block = lines.map((l) => indent + l).join(eol) + eol
  if (end === text.length && !text.endsWith('\n')) return text + eol + block.slice(0, -eol.length)
  return text.slice(0, end) + block + text.slice(end)
}

/** Renames the plain key at path in place (its value and comments untouched). Same text when absent. */
export function renameKey(text: string, file: string, path: YamlPath, newKey: string): string {
  const doc = singleDocument(text, file)
  const parent = locate(doc, path.slice(0, -1)).node
  const key = path[path.length - 1]
  if (!parent || !isMap(parent)) return text
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key))
  if (!pair || !isScalar(pair.key) || !pair.key.range) return text
  const [start, end] = pair.key.range
  return text.slice(0, start) + scalarSource(newKey, pair.key.type, parent.flow === true, true) + text.slice(end)
}

/**
 * Removes the scalar item `value` from the block list at path: its whole line (a comment on the
 * same line goes with it); every other line stays. Same text when the item is absent. A flow list
 * (`[a, b]`) or an item sharing its line is refused with a fix (it could not be cut out cleanly).
 */
export function removeFromSequence(text: string, file: string, path: YamlPath, value: string): string {
  const doc = singleDocument(text, file)
  const at = locate(doc, path)
  const seq = at.node
  if (!seq || !isSeq(seq)) return text
  const item = seq.items.find((i) => isScalar(i) && String(i.value) === value) as Node | undefined
  if (!item?.range) return text
  const where = describePath(path)
  const line = lineAt(text, item.range[0])
  if (seq.flow) throw new SetupError(`${file}:${line}: ${where} is a flow list ([...]), from which ${value} cannot be removed without rewriting it`, `remove ${value} from ${where} in ${file} by hand, then rerun`)
  const start = lineStartOf(text, item.range[0])
  if (!/^\s*-\s*$/.test(text.slice(start, item.range[0])))
    throw new SetupError(`${file}:${line}: the item ${value} of ${where} shares its line with other content`, `put ${value} on a line of its own in ${file}, then rerun`)
  const newline = text.indexOf('\n', item.range[1])
  return text.slice(0, start) + (newline === -1 ? '' : text.slice(newline + 1))
}
