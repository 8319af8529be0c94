// Settings that changed after the setup wrote its files (strategy, tag filter, image, chart version;
// for the ImageUpdater's values, only those a setting names):
// a value the setup wrote follows the setting (a pending change with its reason and diff), a value
// someone set by hand stays, with a line saying so and what to set to adopt it. Who wrote a value is
// told by the record of what this tool wrote: an uncommitted content in StateStore.written, else the
// file as this tool's last commit of it holds it (a commit whose message says image-updater-setup;
// the written records are dropped once committed). A file this tool never committed is a setup made
// by hand, which the repairs adopt as before.
import type { Ctx } from '../context.ts'
import { SetupError } from '../errors.ts'
import { gitRun } from '../git.ts'
import type { Repair } from '../repairs.ts'
import { getAt, setScalar, splitDocuments, type YamlPath } from '../yaml-edit.ts'
import { perAppSetting, type AppSpec } from '../apps.ts'
import { sameImage } from '../render/image.ts'
import { globMatches } from '../image-updaters.ts'

export interface DriftItem {
  /** where the value sits in the document */
  path: YamlPath
  /** what the settings make of it now */
  want: string
  /** the setting that says so (APP_IT_TOOLS_STRATEGY, CHART_VERSION) */
  setting: string
  /** "strategy", "tag filter": for the lines */
  what: string
  /** the setting's value that adopts a file value (`regexp:^v` → `^v`) */
  adopt?: (fileValue: string) => string
}

/** The document of `kind`/`name` in a file of one or more documents, or the file's only one. */
function documentOf(text: string, rel: string, pick?: { kind: string; name: string }): string | undefined {
  const docs = splitDocuments(text, rel)
  if (!pick) return docs.length === 1 ? docs[0]!.source : undefined
  return docs.find((d) => d.kind === pick.kind && d.name === pick.name)?.source
}

/** This tool's commits of `rel`, newest first (messages that say image-updater-setup). */
async function ourCommits(ctx: Ctx, rel: string): Promise<string[]> {
  try {
    return (await gitRun(ctx.repoDir, ['log', '-20', '--format=%H', '-i', '--grep=image-updater-setup', '--', rel])).stdout.split('\n').filter(Boolean)
  } catch {
    return []
  }
}

async function fileAt(ctx: Ctx, rev: string, rel: string): Promise<string | undefined> {
  try {
    return (await gitRun(ctx.repoDir, ['show', `${rev}:${rel}`])).stdout
  } catch {
    return undefined
  }
}

/**
 * The value at `path` that this tool wrote last, or undefined when none of its commits wrote one: a
 * commit that created the file, or changed the value, authored it; one that kept a value the file
 * already had (a repair of another line) did not.
 */
async function valueWeWrote(ctx: Ctx, rel: string, path: YamlPath, commits: string[], pick?: { kind: string; name: string }): Promise<string | undefined> {
  const valueIn = (text: string | undefined) => {
    const doc = text === undefined ? undefined : documentOf(text, rel, pick)
    const v = doc === undefined ? undefined : getAt(doc, rel, path).value
    return v === undefined ? undefined : String(v)
  }
  for (const c of commits) {
    const mine = valueIn(await fileAt(ctx, c, rel))
    if (mine === undefined) continue
    if (valueIn(await fileAt(ctx, `${c}^`, rel)) !== mine) return mine
  }
  return undefined
}

/**
 * The repairs that bring what the setup wrote in line with the settings, and the lines about values
 * set by hand (left as they are). `docText` is the document the values sit in (the whole file for a
 * one-document file), `fileText` the whole file.
 */
export async function settingDrift(ctx: Ctx, rel: string, fileText: string, docText: string, items: DriftItem[], pick?: { kind: string; name: string }): Promise<{ repairs: Repair[]; handSet: string[] }> {
  const repairs: Repair[] = []
  const handSet: string[] = []
  const differing = items.filter((i) => {
    const v = getAt(docText, rel, i.path).value
    return v !== undefined && String(v) !== i.want
  })
  if (!differing.length) return { repairs, handSet }
  const uncommittedOurs = ctx.state.wrote(rel, fileText)
  const commits = uncommittedOurs ? [] : await ourCommits(ctx, rel)
  // never committed by this tool: a setup made by hand, which the repairs adopt
  if (!uncommittedOurs && !commits.length) return { repairs, handSet }
  for (const i of differing) {
    const { value, line } = getAt(docText, rel, i.path)
    const now = String(value)
    const wrote = uncommittedOurs ? now : await valueWeWrote(ctx, rel, i.path, commits, pick)
    if (wrote === now) repairs.push({ reason: `${i.setting} makes the ${i.what} ${i.want}; the file has ${now}, as the setup wrote it: ${i.want}`, edit: (t) => setScalar(t, rel, i.path, i.want) })
    else handSet.push(`${rel}:${line}: the ${i.what} ${now} was set by hand (the setup wrote ${wrote ?? 'another value'}), so ${i.setting}=${i.want} is not applied over it; to adopt the file's value set ${i.setting}=${i.adopt ? i.adopt(now) : now}`)
  }
  return { repairs, handSet }
}

/** Says the hand-set lines where the person sees them (the dry run shows them too). */
export function sayHandSet(ctx: Ctx, lines: string[]): void {
  for (const l of lines) (ctx.note ?? ctx.log)(l)
}

/** A chart version set by hand cannot be left beside another CHART_VERSION: the ImageUpdaters' schema follows the setting. */
export function chartHandSet(lines: string[]): SetupError | undefined {
  if (!lines.length) return undefined
  const adopt = /to adopt the file's value set (CHART_VERSION=\S+)/.exec(lines[0]!)?.[1]
  return new SetupError(lines[0]!.replace(/; to adopt.*$/, ''), `set ${adopt ?? 'CHART_VERSION to the version in the file'} to adopt it (the ImageUpdaters are written for CHART_VERSION), or put the setting's version back in the file; then rerun`)
}

/**
 * The ImageUpdater's entry for the app's image: strategy, tag filter and image name as the settings
 * make them now (APP_<NAME>_* or the global settings; derived from the running tag when empty).
 */
export async function imageUpdaterDrift(ctx: Ctx, rel: string, fileText: string, docText: string, app: AppSpec): Promise<{ repairs: Repair[]; handSet: string[] }> {
  const refs = getAt(docText, rel, ['spec', 'applicationRefs']).value
  if (!Array.isArray(refs)) return { repairs: [], handSet: [] }
  const refIndex = refs.findIndex((r) => typeof r?.namePattern === 'string' && globMatches(r.namePattern, app.name))
  const images: { imageName?: unknown }[] = refIndex >= 0 && Array.isArray(refs[refIndex].images) ? refs[refIndex].images : []
  const imageIndex = images.findIndex((i) => typeof i?.imageName === 'string' && sameImage(i.imageName, app.image))
  if (imageIndex < 0) return { repairs: [], handSet: [] }
  const base: YamlPath = ['spec', 'applicationRefs', refIndex, 'images', imageIndex]
  const s = ctx.settings
  const per = (field: 'IMAGE' | 'STRATEGY' | 'TAG_REGEX') => perAppSetting(app.name, field)
  const named = (field: 'STRATEGY' | 'TAG_REGEX', global: string) => (s.perApp[per(field)] !== undefined || !global ? per(field) : field === 'STRATEGY' ? 'UPDATE_STRATEGY' : 'TAG_REGEX')
  // only a value a setting names: one derived from the running tag is no setting that changed, and a
  // repaired setup keeps the owner's value (a tag filter of theirs) over the derived one
  const set = (field: 'IMAGE' | 'STRATEGY' | 'TAG_REGEX', global: string) => Boolean(s.perApp[per(field)] || global)
  const items: DriftItem[] = []
  if (set('STRATEGY', s.updateStrategy)) items.push({ path: [...base, 'commonUpdateSettings', 'updateStrategy'], want: app.policy.strategy, setting: named('STRATEGY', s.updateStrategy), what: 'update strategy' })
  if (set('IMAGE', s.image)) items.push({ path: [...base, 'imageName'], want: app.imageName, setting: s.perApp[per('IMAGE')] !== undefined || !s.image ? per('IMAGE') : 'IMAGE', what: 'image', adopt: (v) => v.replace(/:[^/:]*$/, '') })
  if (app.policy.tagRegex !== undefined && set('TAG_REGEX', s.tagRegex))
    items.push({ path: [...base, 'commonUpdateSettings', 'allowTags'], want: `regexp:${app.policy.tagRegex}`, setting: named('TAG_REGEX', s.tagRegex), what: 'tag filter', adopt: (v) => v.replace(/^regexp:/, '') })
  const name = String(getAt(docText, rel, ['metadata', 'name']).value ?? app.name)
  return settingDrift(ctx, rel, fileText, docText, items, { kind: 'ImageUpdater', name })
}

