/** The MCP surface of the catalogs, computed once per process and shared by every session. */
import type { AnyCommand, AnyQuery } from '../commands/catalog.js';
import { authorize } from '../commands/pipeline.js';
import type { Principal } from '../commands/principal.js';
import { resourceTemplates, type ResourceTemplateSpec } from './resourceTemplates.js';
import { toolSpecs, type ToolSpec } from './toolSpecs.js';

export interface McpCatalog {
  readonly commands: readonly AnyCommand[];
  readonly queries: readonly AnyQuery[];
  readonly tools: readonly ToolSpec[];
  readonly toolsByName: ReadonlyMap<string, ToolSpec>;
  readonly templates: readonly ResourceTemplateSpec[];
  readonly queriesByName: ReadonlyMap<string, AnyQuery>;
}

export function buildMcpCatalog(commands: readonly AnyCommand[], queries: readonly AnyQuery[]): McpCatalog {
  const tools = toolSpecs(commands, queries);
  return {
    commands,
    queries,
    tools,
    toolsByName: new Map(tools.map((tool) => [tool.name, tool])),
    templates: resourceTemplates(queries),
    queriesByName: new Map(queries.map((query) => [query.name, query])),
  };
}

/** May this principal run it? Exactly the pipeline's own check, so listing never promises more. */
export function allowed(definition: AnyCommand | AnyQuery, principal: Principal): boolean {
  try {
    authorize(definition, principal);
    return true;
  } catch {
    return false;
  }
}

/**
 * A read-only credential (only `:read` scopes) is offered nothing that changes anything: not the
 * commands that need no scope (settings, profiles), and not logging in either, whose access token
 * would carry a member's full rights rather than the key's.
 */
function readOnly(principal: Principal): boolean {
  return principal.scopes.every((scope) => scope.endsWith(':read'));
}

export function toolAllowed(tool: ToolSpec, principal: Principal): boolean {
  const definition = tool.definition;
  if (definition.kind === 'command') return !readOnly(principal) && allowed(definition.command, principal);
  return allowed(definition.query, principal);
}
