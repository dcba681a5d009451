/**
 * A Piscina worker that does nothing: the tasks suite's limit baseline. A
 * bare pool on it measures what submitting a task to a thread and getting
 * its result back costs on this machine, whatever troupe does around it.
 */
export default (): null => null;
