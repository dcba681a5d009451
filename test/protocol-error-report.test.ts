/**
 * The protocol's error_report (protocol-standards.md "Error Reporting
 * Standards") on real task failures: a failure that ends a task publishes
 * one ERROR_ENCOUNTERED whose error_report classifies it, names its context
 * and its own recent events, assesses its impact (the transitive dependents
 * it blocks and the delay their estimates add) and suggests commands; a
 * retried attempt publishes none; an intervention's event carries it too.
 */
import { describe, expect, it } from 'vitest';
import type { Hub, ManualClock } from '../src/index.js';
import { ERROR_CLASSES, withSystemReport } from '../src/runtime/protocol/error-report.js';
import { EVENT_DATA } from '../src/runtime/events/event-registry.js';
import { eachTestOwnHub, eventsOf, ISO, run, until, untilEvent, waitFor } from './hub-fixtures.js';

let hub: Hub;
let clock: ManualClock;
eachTestOwnHub((made) => ({ hub, clock } = made));

describe('error_report', () => {
  it('a task that fails for good: classification, context, related events, and its dependents as the impact', async () => {
    await run(hub, 'wf_e', {
      name: 'errors',
      failure_tolerance: 'high',
      phases: [
        {
          name: 'build',
          tasks: [
            { id: 'compile', handler: 'fail', input: { message: 'compiler exploded', retryable: false } },
            { id: 'link', handler: 'noop', depends_on: ['compile'], estimated_duration: '2m' },
            { id: 'package', handler: 'noop', depends_on: ['link'], estimated_duration: '3m' },
            { id: 'docs', handler: 'noop', estimated_duration: '10m' },
          ],
        },
        { name: 'ship', tasks: [{ id: 'upload', handler: 'noop', depends_on: ['package'], estimated_duration: '1m' }, { id: 'notify', handler: 'noop', depends_on: ['compile', 'docs'], estimated_duration: '30s' }] },
      ],
    });
    expect((await waitFor(hub, 'wf_e')).status).toBe('partial');
    const errors = eventsOf(hub, 'wf_e', 'ERROR_ENCOUNTERED');
    expect(errors).toHaveLength(1);
    const event = errors[0]!;
    expect(EVENT_DATA.ERROR_ENCOUNTERED.safeParse(event.data).success).toBe(true);
    const report = event.data.error_report as Record<string, any>;
    const failed = eventsOf(hub, 'wf_e', 'TASK_FAILED', 'compile')[0]!;
    const started = eventsOf(hub, 'wf_e', 'TASK_STARTED', 'compile')[0]!;
    expect(report).toMatchObject({
      error_id: expect.stringMatching(/^err_[0-9a-f-]{36}$/),
      workflow_id: 'wf_e',
      timestamp: expect.stringMatching(ISO),
      classification: { category: 'execution', type: 'failure', scope: 'task', recoverable: false, severity: 'medium' },
      context: { component: failed.data.agent_id, operation: 'task_execution', phase: 'build', task: 'compile', agent: failed.data.agent_id },
      details: { error_message: 'compiler exploded', technical_details: expect.stringContaining('on attempt 1') },
      impact_assessment: {
        affected_tasks: ['compile'],
        affected_agents: [failed.data.agent_id],
        // transitive, across phases, in definition order; docs does not depend on compile
        blocking_dependencies: ['link', 'package', 'upload', 'notify'],
        // the longest chain of the blocked tasks' estimates: link 2m + package 3m + upload 1m
        estimated_delay: '6m',
        workflow_risk: 'medium',
      },
    });
    expect(report.details.related_events).toEqual(expect.arrayContaining([started.event_id, failed.event_id]));
    expect(report.details.related_events).not.toContain(eventsOf(hub, 'wf_e', 'TASK_COMPLETED', 'docs')[0]?.event_id);
    expect(report.recovery_suggestions.map((s: { strategy: string }) => s.strategy)).toEqual(['checkpoint_rollback', 'intervention_next_time']);
    // nothing measured, nothing claimed
    expect(report.recovery_suggestions.some((s: object) => 'success_probability' in s)).toBe(false);
  });

  it('a retried attempt publishes none; the attempt that ends the task publishes one, at the risk its tolerance sets', async () => {
    await run(hub, 'wf_r', { name: 'retry', failure_tolerance: 'low', phases: [{ name: 'p', tasks: [{ id: 'flaky', handler: 'fail', input: { message: 'no' }, retries: 1 }] }] });
    await until(() => eventsOf(hub, 'wf_r', 'TASK_FAILED', 'flaky').length === 1, 'the first failure');
    expect(eventsOf(hub, 'wf_r', 'ERROR_ENCOUNTERED')).toHaveLength(0);
    clock.advance(60_000);
    expect((await waitFor(hub, 'wf_r')).status).toBe('failed');
    const errors = eventsOf(hub, 'wf_r', 'ERROR_ENCOUNTERED');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.data.error_report).toMatchObject({
      classification: { severity: 'critical', recoverable: true },
      impact_assessment: { blocking_dependencies: [], estimated_delay: '0ms', workflow_risk: 'critical' },
      details: { technical_details: expect.stringContaining('on attempt 2') },
    });
  });

  it("an intervention's ERROR_ENCOUNTERED carries the report, with the commands that answer it", async () => {
    await run(hub, 'wf_i', { name: 'intervene', phases: [{ name: 'p', tasks: [{ id: 'deploy', handler: 'fail', on_failure: 'intervene', estimated_duration: '4m' }, { id: 'after', handler: 'noop', depends_on: ['deploy'] }] }] });
    const event = await untilEvent(hub, 'wf_i', 'ERROR_ENCOUNTERED');
    expect(eventsOf(hub, 'wf_i', 'ERROR_ENCOUNTERED')).toHaveLength(1);
    expect(event.data).toMatchObject({ manual_intervention_required: true, task_id: 'deploy' });
    expect(event.data.error_report).toMatchObject({
      impact_assessment: { blocking_dependencies: ['after'], workflow_risk: 'medium' },
      recovery_suggestions: [
        { strategy: 'task_retry', command: 'wf_i retry-task {"task_id":"deploy"}', estimated_time: '4m' },
        { strategy: 'task_skip', command: 'wf_i skip-task {"task_id":"deploy"}' },
      ],
    });
  });

  it('a SYSTEM_ERROR carries one too, scope system, classified by its error_type', () => {
    const data = withSystemReport({ error_type: 'checkpoint_failed', affected_components: ['store'], severity: 'error', message: 'disk full' }, 'wf_1', Date.parse('2025-01-15T12:00:00Z'), 'checkpoint');
    expect(EVENT_DATA.SYSTEM_ERROR.safeParse(data).success).toBe(true);
    expect(data.error_report).toMatchObject({
      workflow_id: 'wf_1',
      timestamp: '2025-01-15T12:00:00.000Z',
      classification: { category: 'state', type: 'unavailable', scope: 'system', severity: 'high', recoverable: true },
      context: { component: 'store', operation: 'checkpoint' },
      details: { error_message: 'disk full' },
    });
    // every category in the table is one of the spec's
    expect(new Set(Object.values(ERROR_CLASSES).map((c) => c.category))).toEqual(new Set(['execution', 'resource', 'dependency', 'state', 'system']));
  });
});
