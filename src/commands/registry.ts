/**
 * The catalogs: every command and every query the platform has. REST routes, MCP tools and
 * resources, and the OpenAPI document are generated from these two lists.
 */
import type { AnyCommand, AnyQuery } from './catalog.js';
import { auditExport } from './audit/exportQuery.js';
import { auditGrantAccess, auditRevokeGrant } from './audit/grantCommands.js';
import { auditListAccessLog, auditListGrants } from './audit/grantQueries.js';
import { auditListEvents, auditReadStream, auditVerifyStream } from './audit/queries.js';
import { createCustomer, updateCustomer } from './customers/commands.js';
import { getCustomer, listCustomers } from './customers/queries.js';
import { approveRequest, rejectRequest } from './approvals/commands.js';
import { getApproval, listApprovals } from './approvals/queries.js';
import { getMemberPermissions } from './tenancy/permissionsQuery.js';
import {
  mpesaBulkPayment,
  mpesaCheckBalance,
  mpesaCheckStatus,
  mpesaReverseTransaction,
  mpesaStkPush,
} from './payments/mpesaCommands.js';
import { mpesaGenerateReport, mpesaTransactionHistory } from './payments/mpesaQueries.js';
import { resolveReconciliationAlert } from './payments/reconciliation.js';
import { listReconciliationAlerts } from './payments/reconciliationQueries.js';
import {
  ledgerChangeLimit,
  ledgerCloseAccount,
  ledgerCreateTransfers,
  ledgerOpenAccount,
  ledgerPostPending,
  ledgerReverseTransfer,
  ledgerVoidPending,
} from './ledger/commands.js';
import {
  ledgerAccountHistory,
  ledgerGetBalance,
  ledgerGetTransfer,
  ledgerListAccounts,
  ledgerListTransfers,
} from './ledger/queries.js';
import { addPaymentMethod, initiatePayment, processRefund } from './payments/cardsCommands.js';
import { reviewFlaggedTransaction, scanTransaction } from './payments/fraudCommands.js';
import { generateFraudReport, getCustomerRisk, listFraudAlerts } from './payments/fraudQueries.js';
import { getPayment, listPaymentMethods, listPayments } from './payments/paymentQueries.js';
import { getPaymentSettings, updatePaymentSettings } from './payments/settings.js';
import { generateApiKey, revokeApiKey, updateApiKeyPermissions } from './tenancy/apiKeyCommands.js';
import { createMember, deactivateMember, updateUserProfile } from './tenancy/memberCommands.js';
import {
  changeOrganizationPlan,
  createOrganization,
  reactivateOrganization,
  suspendOrganization,
  updateOrganizationSettings,
} from './tenancy/organizationCommands.js';
import {
  getMember,
  getOrganization,
  listApiKeys,
  listMembers,
  listOrganizations,
} from './tenancy/queries.js';
import { authenticateUser, logout, refreshToken } from './tenancy/sessionCommands.js';
import {
  revokeProviderCredentials,
  rotateProviderCredentials,
  setProviderCredentials,
} from './vault/commands.js';
import { getProviderCredentials, listProviderCredentials } from './vault/queries.js';

export const COMMANDS: readonly AnyCommand[] = [
  createOrganization,
  suspendOrganization,
  reactivateOrganization,
  changeOrganizationPlan,
  updateOrganizationSettings,
  createMember,
  deactivateMember,
  updateUserProfile,
  generateApiKey,
  revokeApiKey,
  updateApiKeyPermissions,
  authenticateUser,
  refreshToken,
  logout,
  createCustomer,
  updateCustomer,
  mpesaStkPush,
  mpesaCheckStatus,
  mpesaCheckBalance,
  mpesaBulkPayment,
  mpesaReverseTransaction,
  resolveReconciliationAlert,
  ledgerOpenAccount,
  ledgerCloseAccount,
  ledgerChangeLimit,
  ledgerCreateTransfers,
  ledgerPostPending,
  ledgerVoidPending,
  ledgerReverseTransfer,
  auditGrantAccess,
  auditRevokeGrant,
  updatePaymentSettings,
  addPaymentMethod,
  initiatePayment,
  processRefund,
  scanTransaction,
  reviewFlaggedTransaction,
  setProviderCredentials,
  rotateProviderCredentials,
  revokeProviderCredentials,
  approveRequest,
  rejectRequest,
];

export const QUERIES: readonly AnyQuery[] = [
  getOrganization,
  listOrganizations,
  listMembers,
  getMember,
  listApiKeys,
  auditReadStream,
  auditVerifyStream,
  auditListEvents,
  auditListGrants,
  auditListAccessLog,
  auditExport,
  ledgerListAccounts,
  ledgerGetBalance,
  ledgerListTransfers,
  ledgerGetTransfer,
  ledgerAccountHistory,
  listCustomers,
  getCustomer,
  getPaymentSettings,
  listPayments,
  getPayment,
  listPaymentMethods,
  listFraudAlerts,
  getCustomerRisk,
  generateFraudReport,
  listProviderCredentials,
  getProviderCredentials,
  mpesaTransactionHistory,
  mpesaGenerateReport,
  listReconciliationAlerts,
  getMemberPermissions,
  getApproval,
  listApprovals,
];
