import type { ErrorResponse } from './commands.js';
import { asTroupeError, recoverySuggestions, TroupeError } from './errors.js';
import { isStorageError } from './durability/storage-health.js';

/** A write the storage refused (a full or failing disk) as the error a command answers with. */
function storageFailed(error: NodeJS.ErrnoException & { code: string }, operation: string): TroupeError {
  return new TroupeError('STORAGE_FAILED', `The data directory could not be written (${error.code}), so ${operation || 'the command'} is not durable`, {
    details: `${error.message}. Its change may hold in memory until the supervisor stops; it is not acknowledged`,
    cause: error,
  });
}

/**
 * The error response (DESIGN §5) for anything thrown: a TroupeError (or a
 * lower layer's coded error, see `asTroupeError`) keeps its code and
 * details; a write the storage refused (ENOSPC, EIO, …) is STORAGE_FAILED;
 * anything else is an INTERNAL_ERROR with its stack.
 */
export function errorResponse(error: unknown, envelope: { operation: string; workflow_id?: string }, now: number): ErrorResponse {
  const known = !(error instanceof TroupeError) && isStorageError(error) ? storageFailed(error, envelope.operation) : asTroupeError(error);
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
