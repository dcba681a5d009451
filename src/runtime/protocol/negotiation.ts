import { TroupeError } from '../errors.js';
import { PROTOCOL_VERSION } from '../version.js';

/** A protocol version as numbers. */
export interface ProtocolVersion {
  major: number;
  minor: number;
  patch: number;
}

export const VERSION_PATTERN = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;

/** `"1.2.3"` as numbers; null when it is not `MAJOR.MINOR.PATCH`. */
export function parseVersion(text: string): ProtocolVersion | null {
  const match = VERSION_PATTERN.exec(text);
  return match ? { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) } : null;
}

const order = (a: ProtocolVersion, b: ProtocolVersion) => a.major - b.major || a.minor - b.minor || a.patch - b.patch;
const text = (v: ProtocolVersion) => `${v.major}.${v.minor}.${v.patch}`;

/**
 * The version a connection speaks after the client offered `offered`
 * (see the rule at {@link PROTOCOL_VERSION}): the lower of the two within
 * one MAJOR; PROTOCOL_VERSION_UNSUPPORTED across MAJORs, saying which side
 * to upgrade.
 *
 * @example
 * negotiate('1.4.0') // '1.1.0' while the supervisor speaks 1.1.0
 */
export function negotiate(offered: string, supervisor: string = PROTOCOL_VERSION): string {
  const client = parseVersion(offered);
  const ours = parseVersion(supervisor)!;
  if (!client) throw new TroupeError('VALIDATION_FAILED', `protocol_version ${JSON.stringify(offered)} is not MAJOR.MINOR.PATCH`, { details: 'e.g. "1.1.0"' });
  if (client.major !== ours.major) {
    const upgrade = client.major > ours.major ? 'the supervisor (troupe serve)' : 'the client';
    throw new TroupeError('PROTOCOL_VERSION_UNSUPPORTED', `Protocol ${offered} is not spoken here: this supervisor speaks ${ours.major}.x (up to ${supervisor})`, {
      details: `MAJOR versions are not compatible; the connection is closed. Upgrade ${upgrade}`,
      suggestions: [`Upgrade ${upgrade} so both speak protocol ${Math.max(client.major, ours.major)}.x`],
    });
  }
  return text(order(client, ours) <= 0 ? client : ours);
}
