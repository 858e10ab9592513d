import type { Projection } from './projection.js';
import { auditProjection } from './audit/auditProjection.js';
import { ledgerProjection } from './ledger/ledgerProjection.js';
import { paymentsProjection } from './payments/paymentsProjection.js';
import { tenancyProjection } from './tenancy/tenancyProjection.js';
import { credentialsProjection } from './vault/credentialsProjection.js';
import { approvalsProjection } from './approvals/approvalsProjection.js';

/** Every read model, projected by one projector. */
export const PROJECTIONS: readonly Projection[] = [
  tenancyProjection,
  ledgerProjection,
  auditProjection,
  paymentsProjection,
  credentialsProjection,
  approvalsProjection,
];
