import type { Handler } from '../operation-kit.js';
import { listTemplates, templateSources } from './template-catalog.js';

/** The template operations (DESIGN §12): `list-templates`; `create {"template"}` is part of `create`. */
export const templateHandlers: Record<string, Handler> = {
  async 'list-templates'(hub, _id, params: { name?: string }) {
    const listed = await listTemplates(await templateSources(hub.templatesDir), params.name);
    const usable = listed.templates.find((t) => !t.error && !t.shadowed_by);
    return {
      result: { ...listed, total: listed.templates.length },
      next_steps: usable
        ? [`Create a workflow from one with '<id> create {"template":"${usable.name}","params":{…}}'`, `or run it: troupe run --template ${usable.name} --param NAME=VALUE`]
        : ["Add templates as NAME.yaml to the templates_dir of the config (default: templates/ beside the config file)"],
    };
  },
};
