// msgpackr requires this inside a try/catch and falls back to its pure-JS decoder.
// troupe replaces the real package (an optional native accelerator) because its
// per-platform binaries are not all published in the registry troupe installs
// from, which leaves package-lock.json unusable by `npm ci`.
throw new Error('msgpackr-extract is disabled in troupe: msgpackr decodes in pure JavaScript');
