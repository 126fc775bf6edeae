/**
 * Runs one connector operation: under a deadline (the signal every upstream call of the operation
 * shares), never inside a database transaction, and with every upstream call it made written to the
 * upstream-call log afterwards (a failure to log is logged, never the caller's failure).
 */
import {
  AcquirerTimeoutError,
  withTimeout,
  type CallContext,
  type Connector,
  type UpstreamCall,
} from '../acquirers/port.js';
import type { UpstreamCallRepo } from '../store/upstream-calls.js';

export type CallOutcome<T> = { ok: true; value: T } | { ok: false; timeout: boolean; error: unknown };

export interface ConnectorCallsDeps {
  calls: Pick<UpstreamCallRepo, 'insert'>;
  /** How long one upstream HTTP request may take (WMX_BANK_TIMEOUT). */
  bankTimeoutMs: number;
  log?: (msg: string, detail: Record<string, unknown>) => void;
  /** Sees every upstream call as it is logged (metrics); a throw is logged, never the caller's failure. */
  observe?: (connectorId: string, records: readonly UpstreamCall[]) => void;
}

export function createConnectorCalls(deps: ConnectorCallsDeps) {
  /**
   * The whole operation's deadline: the sandbox bank's promise is about one answer in the bank
   * timeout; an HTTP connector may need a token, the call and a status query, each bounded by it.
   */
  const deadlineOf = (c: Connector) =>
    c.capabilities.timeoutIsDecline ? deps.bankTimeoutMs : deps.bankTimeoutMs * 3 + 1_000;

  async function run<T>(
    c: Connector,
    scope: { paymentId: string | null; refundId?: string | null },
    op: (ctx: CallContext) => Promise<T>,
  ): Promise<CallOutcome<T>> {
    const records: UpstreamCall[] = [];
    let result: CallOutcome<T>;
    try {
      const value = await withTimeout(deadlineOf(c), (signal) => op({ signal, record: (r) => records.push(r) }));
      result = { ok: true, value };
    } catch (error) {
      result = { ok: false, timeout: error instanceof AcquirerTimeoutError, error };
      if (!(error instanceof AcquirerTimeoutError)) {
        deps.log?.('connector call failed', { connector: c.id, payment: scope.paymentId, err: String(error) });
      }
    }
    await log(c.id, scope, records);
    return result;
  }

  async function log(
    connectorId: string,
    scope: { paymentId: string | null; refundId?: string | null },
    records: readonly UpstreamCall[],
  ): Promise<void> {
    try {
      deps.observe?.(connectorId, records);
    } catch (e) {
      deps.log?.('upstream call not observed', { connector: connectorId, err: String(e) });
    }
    try {
      await deps.calls.insert({ connectorId, paymentId: scope.paymentId, refundId: scope.refundId ?? null }, records);
    } catch (e) {
      deps.log?.('upstream call log not written', { connector: connectorId, err: String(e) });
    }
  }

  return { run, log, deadlineOf, leaseMsOf: (c: Connector) => deadlineOf(c) + 5_000 };
}

export type ConnectorCalls = ReturnType<typeof createConnectorCalls>;
