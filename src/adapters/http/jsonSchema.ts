/** zod → JSON Schema for the OpenAPI document (validation itself stays with zod). */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

export function inputSchema(schema: z.ZodType): JsonSchema {
  return strip(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
}

export function outputSchema(schema: z.ZodType): JsonSchema {
  return strip(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }));
}

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

/** Splits an object schema into the path parameters and everything else. */
export function splitPathParams(
  schema: JsonSchema,
  names: readonly string[],
): { params: JsonSchema | null; rest: JsonSchema } {
  const properties = (schema['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = (schema['required'] ?? []) as string[];
  if (names.length === 0) return { params: null, rest: schema };
  const params: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(names.map((name) => [name, properties[name] ?? { type: 'string' }])),
    required: [...names],
  };
  const restProperties = Object.fromEntries(
    Object.entries(properties).filter(([name]) => !names.includes(name)),
  );
  return {
    params,
    rest: {
      ...schema,
      properties: restProperties,
      required: required.filter((name) => !names.includes(name)),
    },
  };
}

export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1] ?? '');
}
