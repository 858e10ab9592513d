/**
 * Approvals for tests: an organization's approval policy set over REST, and a pending approval
 * made the only way there is — an agent's money-moving call over MCP that the policy holds back.
 */
import { expect } from 'vitest';
import { connectInMemory } from '../mcp/support.js';
import type { TestApp } from './app.js';

/** Sets the policy (org admin's credential); answers the position written. */
export async function setApprovalPolicy(
  app: TestApp,
  adminToken: string,
  policy: Record<string, unknown>,
): Promise<string> {
  const response = await app.request('PATCH', '/v1/organization/settings', {
    token: adminToken,
    body: { approvalPolicy: policy },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as { position: string }).position;
}

/**
 * One transfer over MCP with `bearer` (the policy must hold it back); answers the approval id.
 * The accounts must exist and the policy's threshold be below the amount.
 */
export async function pendingApprovalOverMcp(
  app: TestApp,
  bearer: string,
  transfer: { transferId: string; debitAccount: string; creditAccount: string; amount: string },
): Promise<string> {
  const agent = await connectInMemory(app, bearer);
  try {
    const result = await agent.client.callTool({
      name: 'ledger_create_transfers',
      arguments: { transfers: [transfer] },
    });
    const body = result.structuredContent as { status?: string; approvalId?: string; position?: string };
    expect(body.status, JSON.stringify(body)).toBe('pending_approval');
    // Read-your-writes: once this answers, the approval is in the read models.
    const read = await app.request(
      'GET',
      `/v1/approvals/${body.approvalId!}?consistentWith=${body.position!}`,
      {
        token: bearer,
      },
    );
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    return body.approvalId!;
  } finally {
    await agent.close();
  }
}
