import { describe, expect, it } from 'vitest';
import {
  compileExpression,
  evaluateExpression,
  type ExpressionContext,
  ExpressionEvalError,
  ExpressionSyntaxError,
  referencesOf,
} from '../src/runtime/flow/expressions.js';
import {
  compileCondition,
  compileTemplate,
  findTemplates,
  renderTemplate,
  renderValue,
  TemplateEvalError,
  TemplateSyntaxError,
} from '../src/runtime/flow/templates.js';

const context: ExpressionContext = {
  tasks: {
    a: { output: { n: 3, f: 1.5, id: 'abc', list: [1, 2, 3], obj: { k: 'v', nested: [true, null] } }, status: 'completed' },
    b: { output: null, status: 'failed' },
  },
  workflow: { id: 'wf-1', name: 'build' },
  params: { env: 'prod', retries: 2 },
  task: { attempt: 1 },
};

const evaluate = (source: string, ctx: ExpressionContext = context) => evaluateExpression(compileExpression(source), ctx);
const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('evaluating expressions over JSON', () => {
  it.each([
    ['tasks.a.output.n', 3],
    ['tasks["a"].output.id', 'abc'],
    ['tasks.a.output.n > 2', true],
    ['tasks.a.output.n == 3', true],
    ['tasks.a.output.n == 3.0', true],
    ['tasks.a.output.f > 1', true],
    ['tasks.a.output.n + 1', 4],
    ['tasks.a.output.f * 2', 3],
    ['1.5 * 2', 3],
    ['2 - tasks.a.output.f', 0.5],
    ['tasks.a.output.n * tasks.a.output.f', 4.5],
    // CEL divides ints as ints; a double on either side gives a double.
    ['tasks.a.output.n / 2', 1],
    ['tasks.a.output.n / 2.0', 1.5],
    ['double(tasks.a.output.n) / 2', 1.5],
    ['-tasks.a.output.f', -1.5],
    ['params.retries + task.attempt', 3],
    ['"id-" + tasks.a.output.id', 'id-abc'],
    ['string(tasks.a.output.n) + "x"', '3x'],
    ['tasks.b.status == "failed" ? "retry" : "ok"', 'retry'],
    ['has(tasks.a.output.n)', true],
    ['has(tasks.a.output.zz)', false],
    ['has(tasks.c)', false],
    ['size(tasks.a.output.list)', 3],
    ['tasks.a.output.id.size()', 3],
    ['size(tasks)', 2],
    ['tasks.a.output.list[1]', 2],
    ['tasks.a.output.list.map(x, x * 2)', [2, 4, 6]],
    ['tasks.a.output.list.filter(x, x > 1)', [2, 3]],
    ['tasks.all(id, tasks[id].status in ["completed", "failed"])', true],
    ['tasks.a.output.id.startsWith("ab")', true],
    ['tasks.a.output.obj', { k: 'v', nested: [true, null] }],
    ['{"a": [1, 2.5, "x", null, true]}', { a: [1, 2.5, 'x', null, true] }],
    ['[workflow.id, workflow.name]', ['wf-1', 'build']],
    ['tasks.b.output', null],
    ['cel.bind(o, tasks.a.output, o.list.map(x, x + o.n))', [4, 5, 6]],
  ])('%s', (source, expected) => {
    expect(evaluate(source)).toEqual(expected);
  });

  it('reads a deep-frozen context, and never changes a context', () => {
    const frozen = structuredClone(context);
    const deepFreeze = (value: unknown): void => {
      if (value === null || typeof value !== 'object') return;
      Object.freeze(value);
      for (const item of Object.values(value)) deepFreeze(item);
    };
    deepFreeze(frozen);
    expect(evaluate('tasks.a.output.list.map(x, x * 2)', frozen)).toEqual([2, 4, 6]);
    const before = JSON.stringify(context);
    evaluate('tasks.a.output');
    expect(JSON.stringify(context)).toBe(before);
  });

  it('reads data keys named like prototype members as data', () => {
    const output = JSON.parse('{"constructor": {"name": "data"}, "__proto__": {"x": 1}, "toString": "ts"}') as unknown;
    const ctx: ExpressionContext = { tasks: { t: { output, status: 'completed' } } };
    expect(evaluate('tasks.t.output.constructor.name', ctx)).toBe('data');
    expect(evaluate('tasks.t.output["__proto__"].x', ctx)).toBe(1);
    expect(evaluate('tasks.t.output.toString', ctx)).toBe('ts');
    const whole = evaluate('tasks.t.output', ctx) as Record<string, unknown>;
    expect(Object.getPrototypeOf(whole)).toBe(Object.prototype);
    expect(Object.keys(whole)).toEqual(['constructor', '__proto__', 'toString']);
    expect(JSON.stringify(whole)).toBe(JSON.stringify(output));
  });
});

describe('what an expression cannot reach', () => {
  it.each([
    'tasks.constructor',
    'tasks.__proto__',
    'tasks["__proto__"]',
    'tasks["constructor"]["prototype"]',
    'workflow.toString',
    'workflow.hasOwnProperty',
    'params.valueOf',
    'output.constructor.name',
    '{}.constructor',
    'tasks.a.output.list.constructor',
    'tasks.a.output.list.length',
    'tasks.a.output.id.constructor',
    'int.constructor',
    'cel.constructor',
    'type(1).constructor',
  ])('%s is an evaluation error', (source) => {
    const error = thrown(() => evaluate(source, { ...context, output: { ok: true } }));
    expect(error).toBeInstanceOf(ExpressionEvalError);
  });

  it.each(['[].constructor', '"x".constructor', '1.constructor', 'true.toString'])('%s is refused at compile time: the checker knows the type has no fields', (source) => {
    expect(thrown(() => compileExpression(source))).toBeInstanceOf(ExpressionSyntaxError);
  });

  it.each(['constructor', 'process', 'globalThis', 'require', 'Function', 'eval', 'window', 'this', 'module', 'tasks.a + nope', 'process.env.HOME'])(
    '%s is an unknown name at compile time',
    (source) => {
      const error = thrown(() => compileExpression(source)) as ExpressionSyntaxError;
      expect(error).toBeInstanceOf(ExpressionSyntaxError);
      expect(error.reason).toMatch(/^unknown name `\w+`: an expression can name only tasks, workflow, params, task, output/);
    },
  );

  it.each([
    ['__proto__', /Reserved identifier/, 0],
    ['[1].map(x, [2].map(y, y))', /inside another comprehension/, 11],
    ['cel.bind(a, "x", cel.bind(b, a + a, b + b))', /cel.bind` inside another/, 17],
    ['"aaaa".matches("(a+)+$")', /`matches` is not available/, 0],
    ['{"constructor": 1}', /key "constructor" cannot be written/, 1],
    ['{"__proto__": {"polluted": 1}}', /key "__proto__" cannot be written/, 1],
    ['[1].map(tasks, tasks)', /would hide the name `tasks`/, 8],
    ['"a" < 1', /no such overload/, 0],
    ['tasks.foo()', /no matching overload/, 0],
  ])('%s is refused at compile time', (source, reason, position) => {
    const error = thrown(() => compileExpression(source)) as ExpressionSyntaxError;
    expect(error).toBeInstanceOf(ExpressionSyntaxError);
    expect(error.reason).toMatch(reason);
    expect(error.position).toBe(position);
  });

  it('allows chained comprehensions, which cost the sum of their lists', () => {
    expect(evaluate('tasks.a.output.list.filter(x, x > 1).map(x, x * 10)')).toEqual([20, 30]);
  });
});

describe('evaluation errors', () => {
  it.each([
    ['tasks.a.output.zz', 'No such key: zz', 15],
    ['tasks.zz.output', 'No such key: zz', 6],
    ['tasks.a.output.id + 1', 'no such overload: dyn<string> + int', 0],
    ['tasks.a.output.list[5]', 'No such key: index out of bounds, index 5 >= size 3', 0],
    ['tasks.a.output.n / 0', 'division by zero', 0],
    ['output.x', '`output` is not available here', 0],
    ['9007199254740993', 'the integer 9007199254740993 is beyond what a JSON number holds exactly (±2^53−1); use string() to keep it whole', null],
    ['1.0 / 0.0', 'the result Infinity is not a JSON number', null],
    ['b"x"', 'the result is a bytes value, which JSON cannot hold; convert it with .string() or .base64()', null],
    ['type(1)', 'the result is a Type value, which JSON cannot hold', null],
  ])('%s', (source, reason, position) => {
    const error = thrown(() => evaluate(source)) as ExpressionEvalError;
    expect(error).toBeInstanceOf(ExpressionEvalError);
    expect({ reason: error.reason, position: error.position }).toEqual({ reason, position });
  });

  it('bounds how much a result may hold: values, and characters of text', () => {
    const list = Array.from({ length: 1_000 }, (_, i) => i);
    const ctx: ExpressionContext = { tasks: { a: { output: { list, text: 'x'.repeat(1_000_000) }, status: 'completed' } } };
    const values = thrown(() => evaluate('tasks.a.output.list.map(x, tasks.a.output.list)', ctx)) as ExpressionEvalError;
    expect(values.reason).toBe('the result holds more than 1000000 values');
    const chars = thrown(() => evaluate('tasks.a.output.list.map(x, tasks.a.output.text)', ctx)) as ExpressionEvalError;
    expect(chars.reason).toBe('the result holds more than 67108864 characters of text');
  });

  it('compiles a text once, and forgets the oldest past 1000 texts', () => {
    const first = compileExpression('task.attempt + 0');
    expect(compileExpression('task.attempt + 0')).toBe(first);
    for (let i = 1; i <= 1_000; i++) compileExpression(`task.attempt + ${i}`);
    expect(compileExpression('task.attempt + 0')).not.toBe(first);
  });

  it('evaluates only what compileExpression made', () => {
    expect(() => evaluateExpression({ source: '1' }, context)).toThrow(TypeError);
  });
});

describe('templates', () => {
  it.each([
    ['id-${{ tasks.a.output.id }}', 'id-abc', false],
    ['${{ tasks.a.output.n }}', 3, true],
    ['  ${{ tasks.a.output.n }}\n', 3, true],
    ['${{ tasks.a.output.f }}', 1.5, true],
    ['${{ tasks.a.output.n > 2 }}', true, true],
    ['${{ tasks.a.output.list }}', [1, 2, 3], true],
    ['${{ tasks.b.output }}', null, true],
    ['obj=${{ tasks.a.output.obj }}', 'obj={"k":"v","nested":[true,null]}', false],
    ['n=${{ tasks.a.output.n }} f=${{ tasks.a.output.f }} b=${{ tasks.a.output.n > 2 }} nil=${{ tasks.b.output }}', 'n=3 f=1.5 b=true nil=null', false],
    ['${{ workflow.id }}/${{ task.attempt }}', 'wf-1/1', false],
    ['${{ {"a": {"b": [1]}} }}', { a: { b: [1] } }, true],
    ['${{ "}}" }}', '}}', true],
    ["${{ '{' + \"}}\" }}", '{}}', true],
    ['${{ r"\\}}" }}', '\\}}', true],
    ['${{ """a "}}" b""" }}', 'a "}}" b', true],
  ])('%s', (text, expected, whole) => {
    const template = compileTemplate(text)!;
    expect(template.whole).toBe(whole);
    expect(renderTemplate(template, context)).toEqual(expected);
  });

  it('is null for text without ${{', () => {
    expect(compileTemplate('echo $HOME ${PATH} {{x}}')).toBeNull();
  });

  it('lists its expressions, compiled once', () => {
    const template = compileTemplate('${{ workflow.id }}-${{ task.attempt }}')!;
    expect(template.expressions.map((e) => e.source)).toEqual([' workflow.id ', ' task.attempt ']);
    expect(compileTemplate('${{ workflow.id }}-${{ task.attempt }}')).toBe(template);
    expect(compileExpression(' workflow.id ')).toBe(template.expressions[0]);
  });

  it.each([
    ['abc ${{ 1 + }}', 12, /Unexpected token: EOF/],
    ['abc ${{ tasks.a', 4, /`\$\{\{` is not closed by `\}\}`/],
    ['x ${{ "}} ', 2, /a string inside it is left open/],
    ['ok ${{ 1 }} then ${{ process }}', 21, /unknown name `process`/],
    ['${{ tasks.a.output.n +* 2 }}', 22, /Unexpected token: MULTIPLY/],
  ])('%s is a syntax error at %i', (text, position, reason) => {
    const error = thrown(() => compileTemplate(text)) as ExpressionSyntaxError;
    expect(error).toBeInstanceOf(ExpressionSyntaxError);
    expect(error.position).toBe(position);
    expect(error.reason).toMatch(reason);
    expect(error.message).toContain(text.split('\n')[0]!.slice(0, 40));
  });

  it('places evaluation errors in the template text', () => {
    const error = thrown(() => renderTemplate(compileTemplate('x=${{ tasks.a.output.zz }}')!, context)) as ExpressionEvalError;
    expect(error).toBeInstanceOf(ExpressionEvalError);
    expect(error.position).toBe(21);
    expect(error.reason).toBe('No such key: zz');
  });
});

describe('templates inside JSON values', () => {
  const input = {
    cmd: 'echo ${{ tasks.a.output.id }}',
    args: ['-n', '${{ tasks.a.output.n }}', { deep: ['${{ tasks.a.output.list }}'] }],
    plain: 1,
    flag: true,
    none: null,
    '${{ keys.are.not.templates }}': 'k',
    'odd key': 'x${{ workflow.name }}',
  };

  it('renders every string, keeps types of whole templates, and leaves the input alone', () => {
    const before = structuredClone(input);
    expect(renderValue(input, context, 'input')).toEqual({
      cmd: 'echo abc',
      args: ['-n', 3, { deep: [[1, 2, 3]] }],
      plain: 1,
      flag: true,
      none: null,
      '${{ keys.are.not.templates }}': 'k',
      'odd key': 'xbuild',
    });
    expect(input).toEqual(before);
  });

  it('finds each template with its path', () => {
    expect(findTemplates(input, 'input').map((t) => [t.path, t.template.source])).toEqual([
      ['input.cmd', 'echo ${{ tasks.a.output.id }}'],
      ['input.args[1]', '${{ tasks.a.output.n }}'],
      ['input.args[2].deep[0]', '${{ tasks.a.output.list }}'],
      ['input["odd key"]', 'x${{ workflow.name }}'],
    ]);
    expect(findTemplates('${{ params.env }}', 'when').map((t) => t.path)).toEqual(['when']);
  });

  it('names the path of a syntax error and of an evaluation error', () => {
    const syntax = thrown(() => findTemplates({ env: { TOKEN: 'a ${{ 1 + }}' } }, 'input')) as TemplateSyntaxError;
    expect(syntax).toBeInstanceOf(TemplateSyntaxError);
    expect([syntax.path, syntax.position]).toEqual(['input.env.TOKEN', 10]);
    expect(syntax.message).toMatch(/^input\.env\.TOKEN: /);
    const failed = thrown(() => renderValue({ args: ['a', 'b', 'x${{ tasks.a.output.zz }}'] }, context, 'input')) as TemplateEvalError;
    expect(failed).toBeInstanceOf(TemplateEvalError);
    expect([failed.path, failed.position, failed.reason]).toEqual(['input.args[2]', 20, 'No such key: zz']);
  });
});

describe('when conditions', () => {
  it.each([
    ['tasks.b.status == "failed"', true],
    ["${{ tasks.b.status == 'failed' }}", true],
    ['  ${{ tasks.a.output.n > 5 }} ', false],
    ['tasks.a.output.id == "${{"', false],
  ])('%s', (text, expected) => {
    expect(evaluateExpression(compileCondition(text), context)).toBe(expected);
  });

  it('places evaluation errors in the condition text, wrapped or not', () => {
    const wrapped = compileCondition('${{ tasks.a.output.zz }}');
    expect(wrapped.source).toBe('    tasks.a.output.zz   ');
    expect((thrown(() => evaluateExpression(wrapped, context)) as ExpressionEvalError).position).toBe(19);
    expect((thrown(() => evaluateExpression(compileCondition('tasks.a.output.zz'), context)) as ExpressionEvalError).position).toBe(15);
  });

  it.each([
    ['tasks.a.status ==', 17],
    ['  ${{ nope }}', 6],
    ['${{ true }} && tasks.a.output.n > 1', 12],
    ['${{ true }}${{ false }}', 11],
  ])('%s is a syntax error at %i', (text, position) => {
    const error = thrown(() => compileCondition(text)) as ExpressionSyntaxError;
    expect(error).toBeInstanceOf(ExpressionSyntaxError);
    expect(error.position).toBe(position);
  });
});

describe('referencesOf', () => {
  it.each([
    ['tasks.a.output.x', { tasks: ['a'], dynamicTasks: false, params: [], roots: ['tasks'] }],
    ['tasks["b-c"].status == "failed"', { tasks: ['b-c'], dynamicTasks: false, params: [], roots: ['tasks'] }],
    ['has(tasks.c) && tasks.a.output.list.map(x, x + tasks.b.output.n).size() > 0', { tasks: ['a', 'b', 'c'], dynamicTasks: false, params: [], roots: ['tasks'] }],
    ['tasks[workflow.id].output', { tasks: [], dynamicTasks: true, params: [], roots: ['tasks', 'workflow'] }],
    ['size(tasks) > 0', { tasks: [], dynamicTasks: true, params: [], roots: ['tasks'] }],
    ['"a" in tasks || tasks.z.status == "ok"', { tasks: ['z'], dynamicTasks: true, params: [], roots: ['tasks'] }],
    ['params.env + params["region"]', { tasks: [], dynamicTasks: false, params: ['env', 'region'], roots: ['params'] }],
    ['task.attempt > 1 && output.ok', { tasks: [], dynamicTasks: false, params: [], roots: ['task', 'output'] }],
    ['1 + 2', { tasks: [], dynamicTasks: false, params: [], roots: [] }],
  ])('%s', (source, expected) => {
    expect(referencesOf(compileExpression(source))).toEqual(expected);
  });
});
