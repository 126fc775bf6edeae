/**
 * The connector kinds the gateway knows, what each needs configured (settings shown in the clear,
 * secrets sealed at rest and never shown again), and how an instance is built from a stored row.
 */
import type { Connector } from './port.js';
import type { UpstreamHttp } from './upstream-http.js';
import type { SandboxBank } from './sandbox/bank.js';
import { BKASH_BASE_URLS, createBkashConnector } from './bkash/connector.js';
import { SSLCOMMERZ_BASE_URLS, createSslcommerzConnector } from './sslcommerz/connector.js';

export interface FieldSpec {
  name: string;
  label: string;
  secret: boolean;
  required: boolean;
  /** Shown as the example or used when left empty. */
  default?: string;
  help?: string;
}

export interface ConnectorConfig {
  id: string;
  environment: 'sandbox' | 'live';
  config: Readonly<Record<string, string>>;
  secrets: Readonly<Record<string, string>>;
}

export interface ConnectorDeps {
  /** The gateway's public base URL (return and notification URLs are built from it). */
  publicUrl: string;
  http: UpstreamHttp;
  now: () => number;
  /** The process's one sandbox bank (its in-memory books and authentication pages). */
  sandboxBank: SandboxBank;
}

export interface ConnectorKind {
  kind: string;
  label: string;
  fields: readonly FieldSpec[];
  /** The base URL of the upstream's sandbox and live environments, when it has a fixed one. */
  baseUrls?: { sandbox: string; live: string };
  create(c: ConnectorConfig, deps: ConnectorDeps): Connector;
}

const sandboxKind: ConnectorKind = {
  kind: 'sandbox',
  label: 'Sandbox Bank (built in)',
  fields: [],
  // One bank per process whatever the rows: its books must be the same for every route to it.
  create: (c, deps) => ({ ...deps.sandboxBank, id: c.id }),
};

const bkashKind: ConnectorKind = {
  kind: 'bkash',
  label: 'bKash Tokenized Checkout',
  baseUrls: BKASH_BASE_URLS,
  fields: [
    {
      name: 'base_url',
      label: 'Base URL',
      secret: false,
      required: false,
      help: 'Empty: bKash’s own for the environment',
    },
    { name: 'username', label: 'Username', secret: false, required: true },
    { name: 'app_key', label: 'App key', secret: false, required: true },
    { name: 'password', label: 'Password', secret: true, required: true },
    { name: 'app_secret', label: 'App secret', secret: true, required: true },
  ],
  create: (c, deps) => createBkashConnector(c, deps),
};

const sslcommerzKind: ConnectorKind = {
  kind: 'sslcommerz',
  label: 'SSLCommerz v4',
  baseUrls: SSLCOMMERZ_BASE_URLS,
  fields: [
    {
      name: 'base_url',
      label: 'Base URL',
      secret: false,
      required: false,
      help: 'Empty: SSLCommerz’s own for the environment',
    },
    { name: 'store_id', label: 'Store ID', secret: false, required: true },
    { name: 'store_passwd', label: 'Store password', secret: true, required: true },
  ],
  create: (c, deps) => createSslcommerzConnector(c, deps),
};

export const CONNECTOR_KINDS: Readonly<Record<string, ConnectorKind>> = {
  sandbox: sandboxKind,
  bkash: bkashKind,
  sslcommerz: sslcommerzKind,
};

/** The base URL a connector calls: its configured one, else the upstream's own for its environment. */
export function baseUrlOf(kind: ConnectorKind, c: ConnectorConfig): string {
  const configured = (c.config.base_url ?? '').trim().replace(/\/+$/, '');
  if (configured) return configured;
  return kind.baseUrls ? kind.baseUrls[c.environment] : '';
}
