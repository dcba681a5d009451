import type { HubResponse } from '../commands.js';
import { TroupeError } from '../errors.js';
import { LEGACY_PROTOCOL_VERSION } from '../version.js';

/**
 * The protocol one control connection speaks: 1.0.0 until a hello
 * negotiates another (see version.ts). A hello is the first request or
 * none; a hello refused for its MAJOR version ends the connection.
 *
 * @example
 * const refused = protocol.check(command); // before running a request
 * if (protocol.settle(response)) endConnection(); // after answering it
 */
export class ConnectionProtocol {
  version: string = LEGACY_PROTOCOL_VERSION;
  #requests = 0;

  /** Counts the request; the error to answer instead of running it (a hello after other requests), else null. */
  check(command: Record<string, unknown>): TroupeError | null {
    const first = this.#requests++ === 0;
    if (command.operation !== 'hello' || first) return null;
    return new TroupeError('VALIDATION_FAILED', "hello is a connection's first request, or none", {
      details: `This connection already speaks protocol ${this.version}`,
      suggestions: ['Open a new connection and send hello as its first line'],
    });
  }

  /** Takes the version a hello negotiated; true when the hello was refused for its version and the connection must close. */
  settle(response: HubResponse): boolean {
    if (response.operation !== 'hello') return false;
    if (response.status === 'success') {
      this.version = (response.result as { negotiated_version: string }).negotiated_version;
      return false;
    }
    return response.error.code === 'PROTOCOL_VERSION_UNSUPPORTED';
  }
}
