/** An error the user can act on: what went wrong, and what to do about it. */
export class SetupError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message)
    this.name = 'SetupError'
  }
  override toString(): string {
    return `${this.message}\n  fix: ${this.fix}`
  }
}

/** Formats any error for the user: a SetupError with its fix, anything else with its message. */
export function describeError(err: unknown): string {
  if (err instanceof SetupError) return err.toString()
  if (err instanceof Error) return err.message
  return String(err)
}
