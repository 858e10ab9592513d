/**
 * Tools generated from the catalogs (SPEC §3, §8): every command that is not REST-only, and
 * every query marked as a tool. Name, title, description, input and output JSON schemas and
 * honest annotations all come from the catalog entry, so a command added later is a tool with
 * no code here.
 */
import { z } from 'zod';
import type { AnyCommand, AnyQuery } from '../commands/catalog.js';
import { IDEMPOTENCY_KEY_LENGTH_MAX } from '../commands/idempotency.js';
import { pendingApprovalAnswer } from '../commands/approvals/gate.js';
import { inputSchema, outputSchema, type JsonSchema } from '../adapters/http/jsonSchema.js';

export interface ToolAnnotationSet {
  readonly title: string;
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

export interface ToolSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonSchema & { type: 'object' };
  readonly outputSchema: JsonSchema & { type: 'object' };
  readonly annotations: ToolAnnotationSet;
  readonly definition:
    | { readonly kind: 'command'; readonly command: AnyCommand }
    | { readonly kind: 'query'; readonly query: AnyQuery };
}

export const IDEMPOTENCY_KEY_ARGUMENT = 'idempotency_key';
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]+$/;

const ANSWER_META: JsonSchema = {
  revision: { type: ['string', 'null'], description: 'The stream revision after the command.' },
  position: {
    type: ['string', 'null'],
    description: 'The global position of the last event written; later reads in this session wait for it.',
  },
};

/** Every failure comes back in this shape, with the code and message a REST client gets. */
export const ERROR_RESULT_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: {
          type: 'string',
          description:
            'The error registry code, as REST answers it (VALIDATION_FAILED, NOT_FOUND, INSUFFICIENT_FUNDS, …).',
        },
        message: { type: 'string' },
        details: { type: 'object' },
        requestId: { type: 'string' },
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
};

function withAnswerMeta(schema: JsonSchema): JsonSchema {
  return {
    ...schema,
    properties: { ...(schema['properties'] ?? {}), ...ANSWER_META },
  };
}

function commandInputSchema(command: AnyCommand): JsonSchema & { type: 'object' } {
  const schema = inputSchema(command.input);
  if (command.audience === 'public') return { ...schema, type: 'object' };
  return {
    ...schema,
    type: 'object',
    properties: {
      ...(schema['properties'] ?? {}),
      [IDEMPOTENCY_KEY_ARGUMENT]: {
        type: 'string',
        minLength: 1,
        maxLength: IDEMPOTENCY_KEY_LENGTH_MAX,
        pattern: IDEMPOTENCY_KEY_PATTERN.source,
        description:
          'Optional. The same key with the same arguments answers the first result and does nothing again (kept at least 24 hours); the same key with other arguments is refused with IDEMPOTENCY_KEY_REUSED.',
      },
    },
  };
}

function commandDescription(command: AnyCommand): string {
  const notes: string[] = [];
  if (command.movesMoney) notes.push('Moves money: it cannot be undone except by another transfer.');
  if (command.callsProvider) notes.push('Calls an outside payment provider.');
  if (command.approval) {
    notes.push(
      'Over MCP the organization’s approval policy may hold this back: the answer is then status "pending_approval" with an approvalId, and nothing has happened until a manager approves it over REST (follow it with get_approval).',
    );
  }
  if (command.audience !== 'public') notes.push('Pass idempotency_key to make a retry safe.');
  return [command.description, ...notes].join(' ');
}

export function commandTool(command: AnyCommand): ToolSpec {
  const success = withAnswerMeta(outputSchema(command.output));
  const alternatives = command.approval
    ? [success, withAnswerMeta(outputSchema(pendingApprovalAnswer)), ERROR_RESULT_SCHEMA]
    : [success, ERROR_RESULT_SCHEMA];
  const mutating = command.audience !== 'public';
  return {
    name: command.name,
    title: command.title,
    description: commandDescription(command),
    inputSchema: commandInputSchema(command),
    outputSchema: { type: 'object', anyOf: alternatives },
    annotations: {
      title: command.title,
      readOnlyHint: false,
      destructiveHint: command.annotations.destructiveHint ?? command.movesMoney ?? false,
      // With idempotency_key, a repeated call with the same arguments has no further effect.
      idempotentHint: mutating || (command.annotations.idempotentHint ?? false),
      openWorldHint: command.callsProvider ?? command.annotations.openWorldHint ?? false,
    },
    definition: { kind: 'command', command },
  };
}

export function queryTool(query: AnyQuery): ToolSpec {
  return {
    name: query.name,
    title: query.title,
    description: `${query.description} Read-only.`,
    inputSchema: { ...inputSchema(query.params), type: 'object' },
    outputSchema: { type: 'object', anyOf: [outputSchema(query.result), ERROR_RESULT_SCHEMA] },
    annotations: {
      title: query.title,
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
    definition: { kind: 'query', query },
  };
}

/** Every tool the catalogs define, in catalog order (commands, then query tools). */
export function toolSpecs(commands: readonly AnyCommand[], queries: readonly AnyQuery[]): ToolSpec[] {
  return [
    ...commands.filter((command) => !command.restOnly).map(commandTool),
    ...queries.filter((query) => query.mcp?.tool === true).map(queryTool),
  ];
}

/** The arguments of a call, split into the command's input and the idempotency key. */
export function splitArguments(args: Record<string, unknown> | undefined): {
  readonly input: Record<string, unknown>;
  readonly idempotencyKey: unknown;
} {
  const input: Record<string, unknown> = {};
  let idempotencyKey: unknown = undefined;
  for (const [key, value] of Object.entries(args ?? {})) {
    if (key === IDEMPOTENCY_KEY_ARGUMENT) idempotencyKey = value;
    else Object.defineProperty(input, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { input, idempotencyKey };
}

export const idempotencyKeyArgument = z
  .string()
  .min(1)
  .max(IDEMPOTENCY_KEY_LENGTH_MAX)
  .regex(IDEMPOTENCY_KEY_PATTERN, 'must be printable ASCII without spaces')
  .optional();
