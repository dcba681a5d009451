import type { HubResponse } from '../../src/index.js';

/** The result of a success response; a failed test names the error otherwise. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function ok(response: HubResponse): any {
  if (response.status !== 'success') throw new Error(JSON.stringify(response.error));
  return response.result;
}
