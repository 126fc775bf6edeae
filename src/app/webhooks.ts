import { callbackHostAllowed, type Merchant } from '../domain/merchant.js';
import type { WebhookEndpoint, WebhookRepo } from '../store/webhooks.js';

export type { WebhookEndpoint } from '../store/webhooks.js';

export type AddEndpointResult = { ok: true; endpoint: WebhookEndpoint } | { ok: false; message: string };

const URL_MAX = 2000;
/** Enough for a shop, dev and staging receivers; each endpoint multiplies every event's deliveries. */
const ENDPOINTS_MAX = 10;

/** Why a webhook URL is refused for this merchant, or undefined when it may be registered. */
export function webhookUrlProblem(m: Pick<Merchant, 'sandbox' | 'domains'>, text: string): string | undefined {
  if (text === '' || text.length > URL_MAX) return `Enter an http(s) URL of at most ${URL_MAX} characters.`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'Enter an absolute URL such as https://shop.example.com/webhooks.';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'The URL must start with http:// or https://.';
  if (u.username || u.password) return 'The URL must not carry a user name or password.';
  if (!callbackHostAllowed(m, u.hostname)) {
    return `The host ${u.hostname} is not one of your registered domains (${m.domains.join(', ') || 'none'}).`;
  }
  return undefined;
}

/** Webhook endpoints and the delivery log of a merchant (dashboard and JSON API share these rules). */
export function createWebhooks(deps: { repo: WebhookRepo; now: () => number }) {
  const { repo } = deps;
  return {
    list: (merchantId: string) => repo.endpoints(merchantId),
    async add(m: Merchant, url: string): Promise<AddEndpointResult> {
      const text = url.trim();
      const problem = webhookUrlProblem(m, text);
      if (problem) return { ok: false, message: problem };
      const current = await repo.endpoints(m.id);
      // A second endpoint at the same URL would receive every event twice.
      if (current.some((e) => e.url === text)) return { ok: false, message: `${text} is already registered.` };
      if (current.length >= ENDPOINTS_MAX) {
        return { ok: false, message: `At most ${ENDPOINTS_MAX} endpoints; remove one first.` };
      }
      return { ok: true, endpoint: await repo.addEndpoint(m.id, text, deps.now()) };
    },
    remove: (merchantId: string, id: string) => repo.removeEndpoint(merchantId, id),
    recentDeliveries: (merchantId: string, limit = 50) => repo.recentDeliveries(merchantId, limit),
    /** Sends the same event (same id and body) again, now, with a fresh retry budget. */
    redeliver: (merchantId: string, deliveryId: string) => repo.redeliver(merchantId, deliveryId, deps.now()),
    events: (merchantId: string) => repo.events(merchantId),
    eventsPage: repo.eventsPage,
    event: repo.event,
  };
}

export type Webhooks = ReturnType<typeof createWebhooks>;
