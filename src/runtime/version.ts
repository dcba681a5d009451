/** The hub's version, as SYSTEM_STARTUP reports it (kept equal to package.json's by a test). */
export const HUB_VERSION = '0.1.0';

/**
 * The control-socket protocol this supervisor speaks (protocol-standards.md
 * "Version Management"), `MAJOR.MINOR.PATCH`. The one place it is set.
 *
 * Compatibility rule: a client of the same MAJOR is accepted, and the
 * connection speaks the lower of the two versions (a newer MINOR client
 * falls back to what the supervisor knows; MINOR versions only add).
 * A different MAJOR is refused with PROTOCOL_VERSION_UNSUPPORTED and the
 * connection is closed. A client that sends no `hello` first speaks 1.0.0,
 * the line protocol from before the hello: it keeps working unchanged.
 *
 * 1.0.0  one JSON command per line, one response per line, `request_id` echoed, subscription events pushed
 * 1.1.0  `hello` (version negotiation, component registration), error_report in ERROR_ENCOUNTERED, get-status format "state_sync"
 */
export const PROTOCOL_VERSION = '1.1.0';

/** What a client that never said hello speaks. */
export const LEGACY_PROTOCOL_VERSION = '1.0.0';
