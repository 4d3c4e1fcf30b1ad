/**
 * The `code` of the error an action throws (our error classes carry the rule that was broken as
 * `code`), or undefined if it does not throw: lets a test state exactly which rule refused.
 */
export function refusalCodeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

/** As `refusalCodeOf`, for a promise. */
export async function asyncRefusalCodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}
