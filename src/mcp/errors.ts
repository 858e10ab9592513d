/** Failures at the MCP edge: tool errors as results, resource errors as protocol errors. */
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isLedgerlineError, LedgerlineError } from '../domain/errors.js';
import { errorBody } from '../commands/pipeline.js';

/** MCP's code for a resource that does not exist (spec: resources, error handling). */
export const RESOURCE_NOT_FOUND = -32002;

/** Anything that is not a LedgerlineError is a bug: it says nothing about its internals. */
export function asLedgerlineError(error: unknown): LedgerlineError {
  return isLedgerlineError(error) ? error : new LedgerlineError('INTERNAL');
}

/** A domain failure as a tool result: the same code, message and details REST answers. */
export function toolError(error: LedgerlineError, requestId: string): CallToolResult {
  const body = errorBody(error, requestId);
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify(body) }],
    structuredContent: body,
  };
}

/** A failure reading a resource: protocol errors, with the registry code in `data`. */
export function resourceError(error: LedgerlineError, requestId: string): McpError {
  const data = errorBody(error, requestId)['error'];
  if (error.code === 'NOT_FOUND') return new McpError(RESOURCE_NOT_FOUND, error.message, data);
  if (error.status < 500)
    return new McpError(ErrorCode.InvalidParams, `${error.code}: ${error.message}`, data);
  return new McpError(ErrorCode.InternalError, error.message, data);
}
