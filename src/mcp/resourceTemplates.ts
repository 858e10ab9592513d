/**
 * Resources generated from the query catalog (SPEC §8): each query with an MCP resource URI
 * is a resource template (or, with no `{var}`, a plain resource). Reading a URI runs the query
 * with the URI's variables as its params; a query string (`?cursor=…&limit=…`) adds the rest.
 */
import type { AnyQuery, McpResourceOptions } from '../commands/catalog.js';

/** A URI longer than this is refused before it is matched. */
export const RESOURCE_URI_LENGTH_MAX = 2_048;
const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface ResourceTemplateSpec {
  readonly query: AnyQuery;
  readonly options: McpResourceOptions;
  /** Template variables, in order. */
  readonly variables: readonly string[];
  readonly pattern: RegExp;
  readonly static: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileTemplate(query: AnyQuery, options: McpResourceOptions): ResourceTemplateSpec {
  const variables = [...options.uri.matchAll(VARIABLE)].map((match) => match[1] ?? '');
  const source = options.uri
    .split(VARIABLE)
    .map((part, index) => (index % 2 === 1 ? '([^/?#]+)' : escapeRegExp(part)))
    .join('');
  return {
    query,
    options,
    variables,
    pattern: new RegExp(`^${source}(?:\\?([^#]*))?$`),
    static: variables.length === 0,
  };
}

export function resourceTemplates(queries: readonly AnyQuery[]): ResourceTemplateSpec[] {
  return queries.flatMap((query) =>
    query.mcp?.resource ? [compileTemplate(query, query.mcp.resource)] : [],
  );
}

export interface MatchedResource {
  readonly template: ResourceTemplateSpec;
  /** The query's params: path variables (renamed as the catalog says) and query-string values. */
  readonly params: Record<string, string>;
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** The template and params a URI names, or null when no template matches it. */
export function matchResource(
  templates: readonly ResourceTemplateSpec[],
  uri: string,
): MatchedResource | null {
  if (uri.length > RESOURCE_URI_LENGTH_MAX) return null;
  for (const template of templates) {
    const match = template.pattern.exec(uri);
    if (!match) continue;
    const params: Record<string, string> = {};
    let ok = true;
    template.variables.forEach((variable, index) => {
      const value = decode(match[index + 1] ?? '');
      if (value === null) ok = false;
      else params[template.options.vars?.[variable] ?? variable] = value;
    });
    const search = match[template.variables.length + 1];
    if (search !== undefined) {
      for (const [key, value] of new URLSearchParams(search)) {
        // A path variable cannot be overridden from the query string.
        if (Object.hasOwn(params, key)) ok = false;
        else
          Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
      }
    }
    if (ok) return { template, params };
    return null;
  }
  return null;
}

/** The URI of one instance of a template, from its variables' values. */
export function expandTemplate(
  template: ResourceTemplateSpec,
  values: Readonly<Record<string, string>>,
): string {
  return template.options.uri.replace(VARIABLE, (_whole, name: string) =>
    encodeURIComponent(values[name] ?? ''),
  );
}
