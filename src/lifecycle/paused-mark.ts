// The mark `--pause <app>` puts on the first line of the app's ImageUpdater file (the file stays in
// the repo, out of its kustomization's resources): the repo itself says the app is paused, so a setup
// run on any machine leaves it so. Kept apart from pause.ts so repo tasks can read it without the
// cluster client.
export const PAUSED_MARK = '# paused by image-updater-setup'
const PAUSED = /^# paused by image-updater-setup\b[^\n]*\r?\n/m

/** Whether an ImageUpdater file is paused (a line carries the mark). */
export function isPaused(text: string | null): boolean {
  return text !== null && PAUSED.test(text)
}

/** The file without the mark (resume). */
export function unmarked(text: string): string {
  return text.replace(PAUSED, '')
}
