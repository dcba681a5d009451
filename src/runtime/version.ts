/** The hub's version, as SYSTEM_STARTUP reports it (kept equal to package.json's by a test). */
export const HUB_VERSION = '0.1.0';
