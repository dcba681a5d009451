import { colorStatus } from './format-style.js';
import { ago, done, on, table, type ResultFormatter } from './format-kit.js';

interface Approval { workflow_id: string; task_id: string; prompt: string; requested_at: string | null; deadline: string | null; on_timeout: string; approve: string }

interface Answer { task_id: string; attempt: number; approved: boolean; by: string }

/** What people answer: approvals that wait, and the answers to them and to tasks that need intervention. */
export const peopleFormatters: Record<string, ResultFormatter> = {
  approvals: on((v, r: { approvals: Approval[] }) => {
    const { p, response } = v;
    if (r.approvals.length === 0) return p.dim('nothing waits for an approval');
    const rows = r.approvals.map((a) => [a.workflow_id, a.task_id, a.prompt, ago(a.requested_at, response.timestamp), a.deadline ? `${ago(a.deadline, response.timestamp)}, then ${a.on_timeout}` : 'none']);
    return table(p, [{ header: 'workflow', keep: true }, { header: 'task', keep: true }, 'prompt', { header: 'asked', keep: true }, 'deadline'], rows);
  }),
  approve: on((v, r: Answer) => done(v, `${v.p.green(`approved ${r.task_id}`)} by ${r.by}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`)),
  reject: on((v, r: Answer) => done(v, `${v.p.red(`rejected ${r.task_id}`)} by ${r.by}: it fails with APPROVAL_REJECTED`)),
  'retry-task': on((v, r: { task_id: string; previous_status: string; status: string }) =>
    done(v, `task ${r.task_id} gets fresh attempts; the workflow ${r.previous_status} → ${colorStatus(v.p, r.status)}`),
  ),
  'skip-task': on((v, r: { task_id: string; task_status: string; previous_status: string; status: string }) =>
    done(v, `task ${r.task_id} ${colorStatus(v.p, r.task_status)}; the workflow ${r.previous_status} → ${colorStatus(v.p, r.status)}`),
  ),
};
