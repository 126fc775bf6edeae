import type { FastifyInstance } from 'fastify';
import { formatMinor } from '../../../domain/money.js';
import { html } from '../../html.js';
import {
  DAY_MS,
  details,
  merchantOf,
  merchantOnly,
  notYetOpen,
  sendDashPage,
  sendMessage,
  statusBadge,
  zoneOffsetAt,
  type DashCtx,
} from './common.js';

export const STATS_DAYS = 30;

export interface DayStats {
  /** Calendar date in the gateway zone. */
  date: string;
  total: number;
  approved: number;
  /** Approved BDT volume as decimal text (money never travels as a float). */
  volume: string;
  /** approved ÷ all, in percent with one decimal; 0 on a day without payments. */
  successRate: number;
}

/** The last STATS_DAYS days (today included) in the gateway zone, days without payments as zeros. */
export async function dailyStats(ctx: DashCtx, merchantId: string): Promise<{ days: DayStats[]; volumeMinor: bigint }> {
  const now = ctx.gw.now();
  // One offset for the whole window, as paymentSearch.daily groups with one offset.
  const offset = zoneOffsetAt(ctx.gw, now);
  const today = Math.floor((now + offset) / DAY_MS);
  const first = today - (STATS_DAYS - 1);
  const rows = await ctx.gw.paymentSearch.daily(merchantId, first * DAY_MS - offset, offset);
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const days: DayStats[] = [];
  let volumeMinor = 0n;
  for (let d = first; d <= today; d++) {
    const r = byDay.get(d);
    const total = r?.total ?? 0;
    const approved = r?.approved ?? 0;
    volumeMinor += r?.volumeMinor ?? 0n;
    days.push({
      date: new Date(d * DAY_MS).toISOString().slice(0, 10),
      total,
      approved,
      volume: formatMinor(r?.volumeMinor ?? 0n),
      successRate: total === 0 ? 0 : Math.round((approved * 1000) / total) / 10,
    });
  }
  return { days, volumeMinor };
}

/** The overview: who the merchant is, its status, and the last 30 days as charts and as a table. */
export async function overviewRoutes(app: FastifyInstance, ctx: DashCtx): Promise<void> {
  app.get('/dashboard', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return sendMessage(ctx, req, reply, 404, 'Not found', 'Your merchant account no longer exists.');
    const head = html`<section><h1>${m.name}</h1>
${details([
  ['Status', statusBadge(m.status)],
  ['Merchant ID (wmx_id)', m.wmxId],
  ['Mode', ctx.sandbox || m.sandbox ? 'Sandbox (test payments only)' : 'Live'],
])}</section>`;
    const closed = notYetOpen(m);
    if (closed)
      return sendDashPage(
        ctx,
        req,
        reply,
        { title: 'Overview', merchant: m },
        html`${head}<section>${closed}</section>`,
      );

    const { days, volumeMinor } = await dailyStats(ctx, m.id);
    const total = days.reduce((s, d) => s + d.total, 0);
    const approved = days.reduce((s, d) => s + d.approved, 0);
    const scripts = html`<script src="/assets/vendor/chart.umd.min.js" defer></script>
<script src="/assets/dashboard.js" defer></script>`;
    return sendDashPage(
      ctx,
      req,
      reply,
      { title: 'Overview', merchant: m, extraHead: scripts },
      html`${head}
${m.status === 'suspended' ? html`<p class="notice" role="status">This merchant is <strong>suspended</strong>: new payments are refused. Contact the operator.</p>` : ''}
${m.pendingCredentialsSealed ? html`<p class="notice">Your credentials are ready: <a href="/dashboard/credentials">read them once on the credentials page</a>.</p>` : ''}
<section aria-labelledby="charts-h"><h2 id="charts-h">Last ${STATS_DAYS} days</h2>
<p class="hint">Days in ${ctx.gw.config.timezone}. Volume counts approved payments in BDT.</p>
<figure><figcaption>Daily approved volume (BDT)</figcaption><canvas id="volume-chart" role="img" aria-label="Daily approved volume in BDT; the same numbers are in the table below"></canvas></figure>
<figure><figcaption>Daily success rate (%)</figcaption><canvas id="rate-chart" role="img" aria-label="Daily success rate; the same numbers are in the table below"></canvas></figure>
<table id="daily-table">
<caption>Payments per day, last ${STATS_DAYS} days</caption>
<thead><tr><th scope="col">Date</th><th scope="col">Payments</th><th scope="col">Approved</th><th scope="col">Success rate</th><th scope="col">Volume (BDT)</th></tr></thead>
<tbody>${[...days]
        .reverse()
        .map(
          (d) =>
            html`<tr><th scope="row">${d.date}</th><td>${d.total}</td><td>${d.approved}</td><td>${d.successRate.toFixed(1)} %</td><td>${d.volume}</td></tr>`,
        )}</tbody>
<tfoot><tr><th scope="row">Total</th><td>${total}</td><td>${approved}</td><td>${total === 0 ? '0.0' : (Math.round((approved * 1000) / total) / 10).toFixed(1)} %</td><td>${formatMinor(volumeMinor)}</td></tr></tfoot>
</table></section>`,
    );
  });

  app.get('/dashboard/stats.json', merchantOnly, async (req, reply) => {
    const m = await merchantOf(ctx, req);
    if (!m) return reply.code(404).header('cache-control', 'no-store').send({ error: 'not found' });
    return reply.header('cache-control', 'no-store').send({ days: (await dailyStats(ctx, m.id)).days });
  });
}
