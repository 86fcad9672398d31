/** Zod's issues as one line each, `field: what is wrong`, for settings read at the edge (env, flags). */
import type { ZodError } from 'zod';

export function issueLines(
  error: ZodError,
  field: (path: readonly PropertyKey[]) => string = (path) => path.map(String).join('.'),
): string[] {
  return error.issues.map((i) => `${field(i.path)}: ${i.message}`);
}
