import type { ErrorResponse } from './commands.js';
import { asTroupeError, recoverySuggestions } from './errors.js';

/**
 * The error response (DESIGN §5) for anything thrown: a TroupeError (or a
 * lower layer's coded error, see `asTroupeError`) keeps its code and
 * details; anything else is an INTERNAL_ERROR with its stack.
 */
export function errorResponse(error: unknown, envelope: { operation: string; workflow_id?: string }, now: number): ErrorResponse {
  const known = asTroupeError(error);
  const code = known?.code ?? 'INTERNAL_ERROR';
  return {
    status: 'error',
    ...envelope,
    timestamp: new Date(now).toISOString(),
    error: {
      code,
      message: known?.message ?? `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
      details: known ? (known.details ?? '') : error instanceof Error ? (error.stack ?? '') : '',
    },
    recovery_suggestions: [...(known?.suggestions ?? []), ...(recoverySuggestions[code] ?? [])],
  };
}
