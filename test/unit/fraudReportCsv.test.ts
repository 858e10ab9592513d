/** The fraud report's CSV: one row per figure, every field quoted when it must be. */
import { describe, expect, it } from 'vitest';
import { fraudReportCsv, type FraudReport } from '../../src/commands/payments/fraudReport.js';

const REPORT: FraudReport = {
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-02-01T00:00:00.000Z',
  payments: 3,
  byDecision: { allow: 1, review: 1, block: 1 },
  byStatus: { blocked: 1, held: 1, succeeded: 1 },
  alerts: { byRule: [{ rule: 'new_counterparty_large_amount', alerts: 1 }], byStatus: { open: 1 } },
  top: {
    customers: [{ id: 'cus_1', payments: 2, maxScore: 60, averageScore: 45.5 }],
    counterparties: [{ id: 'a,"quoted" one', payments: 1, maxScore: 30, averageScore: 30 }],
  },
  amounts: {
    blocked: [{ currency: 'USD', amount: '60000.00', count: 1 }],
    held: [{ currency: 'KES', amount: '75000.00', count: 1 }],
  },
};

describe('fraudReportCsv', () => {
  it('writes a header and one row per figure', () => {
    const lines = fraudReportCsv(REPORT).trimEnd().split('\n');
    expect(lines[0]).toBe('section,key,count,amount,currency,max_score,average_score');
    expect(lines).toContain('period,2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z,3,,,,');
    expect(lines).toContain('decision,block,1,,,,');
    expect(lines).toContain('alerts_by_rule,new_counterparty_large_amount,1,,,,');
    expect(lines).toContain('top_customer,cus_1,2,,,60,45.5');
    expect(lines).toContain('blocked,USD,1,60000.00,USD,,');
    expect(lines).toContain('held,KES,1,75000.00,KES,,');
    expect(lines).toHaveLength(1 + 1 + 3 + 3 + 1 + 1 + 1 + 1 + 1 + 1);
  });

  it('quotes a field holding a comma or a quote, doubling the quote', () => {
    expect(fraudReportCsv(REPORT)).toContain('top_counterparty,"a,""quoted"" one",1,,,30,30');
  });
});
