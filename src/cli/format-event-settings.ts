import { done, fields, listed, on, plural, table, type ResultFormatter } from './format-kit.js';

const onOff = (b: boolean) => (b ? 'on' : 'off');

interface Batching {
  batching: { enabled: boolean; event_types: string[]; batch_size: number | 'adaptive'; timeout: string; dedup_window: string; deduplication_enabled: boolean; compression_enabled: boolean };
  entries: { entry: string; pattern: string | null; event_types: string[] }[];
  batch_subscriptions: number;
}

interface Persistence { persistence: { persistence_policy: string; retention_period: string; replay_capabilities: string; compression_enabled: boolean; durability: string; always_logged: string; stored: string } }

interface AsyncProcessing {
  async_processing: {
    enabled: boolean;
    processing_pool_size: number;
    priority_scheme: string;
    optimization_mode: string;
    auto_scaling: boolean;
    severity_weights: Record<string, number>;
    now: { in_flight: number; limit: number | null; peak_in_flight: number; waited_for_slot: number; reordered: number };
  };
  subscriptions: number;
}

interface Optimized {
  dry_run: boolean;
  subscriptions: { subscription_id: string; name?: string; patterns_before: string[]; patterns_after: string[]; removed: { pattern: string; reason: string; by?: string }[]; index_matches_saved: number; idle_patterns?: string[] }[];
  patterns: { before: number; after: number; removed: number };
  recent_events: number;
  index_matches_saved: number;
}

const removedText = (removed: Optimized['subscriptions'][number]['removed']) => listed(removed.map((r) => `${r.pattern} (${r.reason.replace(/_/g, ' ')}${r.by ? ` by ${r.by}` : ''})`), 3, '-');

/** The hub's event settings, as the settings now (each operation without params only reads them). */
export const eventSettingsFormatters: Record<string, ResultFormatter> = {
  'configure-batching': on((v, r: Batching) => {
    const { p } = v;
    const b = r.batching;
    const rows = r.entries.map((e) => [e.entry, e.pattern ?? p.yellow('none: names nothing troupe publishes'), listed(e.event_types, 4, '-')]);
    return [
      done(v, `batching ${onOff(b.enabled)}`),
      fields(p, [
        ['batch size', String(b.batch_size)],
        ['timeout', b.timeout],
        ['dedup', b.deduplication_enabled ? `by event_id within ${b.dedup_window}` : 'off'],
        ['compression', onOff(b.compression_enabled)],
        ['subscriptions', `${r.batch_subscriptions} take batches`],
      ]),
      table(p, ['entry', 'pattern', 'event types'], rows).replace(/^/gm, '  '),
    ].join('\n');
  }),
  'configure-persistence': on((v, r: Persistence) => {
    const s = r.persistence;
    return [
      done(v, `the event log keeps ${s.persistence_policy === 'all' ? 'every event' : 'the critical events (selective_critical)'}`),
      fields(v.p, [
        ['retention', s.retention_period],
        ['durability', s.durability],
        ['replay', s.replay_capabilities],
        ['compression', onOff(s.compression_enabled)],
        ['always logged', s.always_logged],
        ['stored', s.stored],
      ]),
    ].join('\n');
  }),
  'enable-async-processing': on((v, r: AsyncProcessing) => {
    const a = r.async_processing;
    const weights = Object.entries(a.severity_weights).map(([s, w]) => `${s} ${w}`).join(', ');
    return [
      done(v, `priority delivery ${onOff(a.enabled)}`),
      fields(v.p, [
        ['pool size', `${a.processing_pool_size} deliveries under way at most${a.auto_scaling ? ', auto-scaled' : ''}`],
        ['scheme', `${a.priority_scheme} (${weights}), ${a.optimization_mode}`],
        ['now', `${a.now.in_flight} in flight (limit ${a.now.limit ?? 'none'}, peak ${a.now.peak_in_flight}); ${a.now.waited_for_slot} waited for a slot, ${a.now.reordered} reordered`],
        ['subscriptions', String(r.subscriptions)],
      ]),
    ].join('\n');
  }),
  'optimize-subscriptions': on((v, r: Optimized) => {
    const { p } = v;
    const rows = r.subscriptions.map((s) => [s.name ?? s.subscription_id, String(s.patterns_before.length), String(s.patterns_after.length), removedText(s.removed), listed(s.idle_patterns ?? [], 3, '-')]);
    const columns = [{ header: 'subscription', keep: true }, { header: 'before', right: true }, { header: 'after', right: true }, 'removed', 'idle (no recent match)'];
    return [
      done(v, r.dry_run ? 'dry run: nothing changed' : `${plural(r.patterns.removed, 'pattern')} removed`),
      fields(p, [
        ['patterns', `${r.patterns.before} → ${r.patterns.after} over ${plural(r.subscriptions.length, 'subscription')}`],
        ['saved', `${r.index_matches_saved} index matches on the last ${plural(r.recent_events, 'event')}; every subscriber gets the same events`],
      ]),
      ...(rows.length > 0 ? [table(p, columns, rows)] : []),
    ].join('\n');
  }),
};
