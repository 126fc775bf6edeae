import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { METHOD_KEYS, isMethodKey, type MethodKey } from '../../../acquirers/port.js';
import { CONNECTOR_KINDS, type ConnectorKind, type FieldSpec } from '../../../acquirers/registry.js';
import type { ConnectorSummary } from '../../../app/connectors-admin.js';
import { DEFAULT_SCOPE, type ConnectorEnvironment } from '../../../store/connectors.js';
import { html, type Html } from '../../html.js';
import { csrfInput, formField } from '../layout.js';
import { actorOf } from '../session.js';
import {
  adminOnly,
  details,
  merchantNames,
  safeBack,
  sendAdminPage,
  sendNotFound,
  sentence,
  textOf,
  type AdminCtx,
} from './common.js';

export const METHOD_LABELS: Readonly<Record<MethodKey, string>> = {
  card: 'Card',
  bkash: 'bKash',
  nagad: 'Nagad',
  rocket: 'Rocket',
  internet_banking: 'Internet banking',
};

/** A kind's fields are posted as cf_<name>, so no field of any kind can collide with the form's own. */
const FIELD = 'cf_';
const SECRETS_NOTE =
  'Secrets are sealed with the server secret as they arrive and never shown again, here or anywhere: only which are set.';

interface AddForm {
  kind: string;
  id: string;
  environment: string;
  settings: Record<string, string>;
}

/** The kind's fields as posted (secrets included); nothing else reaches the use case. */
function postedFields(kind: ConnectorKind, body: unknown): Record<string, string> {
  return Object.fromEntries(kind.fields.map((f) => [f.name, textOf(body, FIELD + f.name, 600)]));
}

function kindField(
  kind: ConnectorKind,
  f: FieldSpec,
  o: { value: string; adding: boolean; secretSet?: boolean },
): Html {
  const own =
    f.name === 'base_url' && kind.baseUrls ? ` (sandbox: ${kind.baseUrls.sandbox}; live: ${kind.baseUrls.live})` : '';
  const hint = f.secret
    ? o.adding
      ? 'A secret: sealed when saved, never shown again.'
      : `${o.secretSet ? 'Set' : 'Not set'}. Leave empty to keep ${o.secretSet ? 'the current one' : 'it unset'}.`
    : f.help
      ? `${f.help}${own}`
      : f.default
        ? `e.g. ${f.default}`
        : undefined;
  return formField(FIELD + f.name, f.label, {
    type: f.secret ? 'password' : 'text',
    autocomplete: 'off',
    value: f.secret ? '' : o.value,
    required: o.adding && f.required,
    ...(hint ? { hint } : {}),
  });
}

const settingsList = (config: Readonly<Record<string, string>>): Html | string =>
  Object.keys(config).length === 0
    ? '—'
    : html`${Object.entries(config).map(([k, v]) => html`<code>${k}</code>=${v}<br>`)}`;

/** Which connectors can take each method (a connector whose instance cannot be built is offered for all). */
export async function takersByMethod(ctx: AdminCtx, list: readonly ConnectorSummary[]) {
  const methods = new Map<string, readonly MethodKey[]>();
  for (const c of list) methods.set(c.id, (await ctx.gw.router.connector(c.id))?.capabilities.methods ?? METHOD_KEYS);
  return (key: MethodKey) => list.filter((c) => methods.get(c.id)?.includes(key));
}

export function connectorSelect(
  label: string,
  current: string,
  options: readonly ConnectorSummary[],
  empty: string,
): Html {
  return html`<select name="connector" aria-label="${label}"><option value="">${empty}</option>${options.map(
    (c) =>
      html`<option value="${c.id}"${c.id === current ? html` selected` : ''}>${c.id} (${c.label}, ${c.environment}${c.enabled ? '' : ', disabled'})</option>`,
  )}</select>`;
}

const findConnector = async (ctx: AdminCtx, id: string) => (await ctx.gw.connectors.list()).find((c) => c.id === id);

export async function connectorRoutes(app: FastifyInstance, ctx: AdminCtx): Promise<void> {
  const { gw } = ctx;

  async function flashText(query: unknown): Promise<string | undefined> {
    const done = textOf(query, 'done', 20);
    const c = await findConnector(ctx, textOf(query, 'connector', 64));
    const method = textOf(query, 'method', 40);
    if (done === 'routed' || done === 'unrouted') {
      if (!isMethodKey(method)) return undefined;
      const to = (await gw.connectors.routes()).find((r) => r.scope === DEFAULT_SCOPE && r.method === method);
      return to
        ? `${METHOD_LABELS[method]} now goes to ${to.connectorId} for every merchant without an override.`
        : `${METHOD_LABELS[method]} has no default route now.`;
    }
    if (!c) return undefined;
    switch (done) {
      case 'added':
        return `Connector ${c.id} (${c.label}, ${c.environment}) added; its secrets are sealed and will not be shown again. Test it before routing payments to it.`;
      case 'updated':
        return `Connector ${c.id} saved.`;
      case 'enabled':
        return `Connector ${c.id} enabled.`;
      case 'disabled':
        return `Connector ${c.id} disabled: it takes no new payments; those it took are still confirmed and refunded through it.`;
      default:
        return undefined;
    }
  }

  const flashOf = (text: string | undefined): Html =>
    text ? html`<p class="flash" role="status">${text}</p>` : html``;

  function connectorActions(c: ConnectorSummary, csrf: string, back: string): Html {
    return html`<div class="actions"><form method="post" action="/admin/connectors/${c.id}/${c.enabled ? 'disable' : 'enable'}">${csrfInput(csrf)}<input type="hidden" name="back" value="${back}"><button type="submit" class="small">${c.enabled ? 'Disable' : 'Enable'}</button></form>
<form method="post" action="/admin/connectors/${c.id}/test">${csrfInput(csrf)}<button type="submit" class="small">Test</button></form></div>`;
  }

  function addSection(csrf: string, add: AddForm | undefined, chosen: string): Html {
    const kind = CONNECTOR_KINDS[add?.kind ?? chosen];
    const kindName = add?.kind ?? chosen;
    const chooser = html`<form method="get" action="/admin/connectors#add"><div class="field"><label for="f-add">Kind</label>
<select id="f-add" name="add">${Object.values(CONNECTOR_KINDS).map((k) => html`<option value="${k.kind}"${k.kind === kindName ? html` selected` : ''}>${k.label}</option>`)}</select></div>
<button type="submit" class="small">Show its fields</button></form>`;
    if (!kind) return html`<section id="add"><h2>Add a connector</h2>${chooser}</section>`;
    const env = add?.environment ?? 'sandbox';
    const envs: ConnectorEnvironment[] = kind.kind === 'sandbox' ? ['sandbox'] : ['sandbox', 'live'];
    return html`<section id="add"><h2>Add a connector</h2>${chooser}
<form method="post" action="/admin/connectors" novalidate autocomplete="off">${csrfInput(csrf)}<input type="hidden" name="kind" value="${kind.kind}">
<h3>${kind.label}</h3>
${formField('id', 'Connector id', { value: add?.id ?? '', autocomplete: 'off', hint: '2-40 lowercase letters, digits or dashes, e.g. bkash-live. Routes and payments name it.' })}
<div class="field"><label for="f-environment">Environment</label><select id="f-environment" name="environment">${envs.map((e) => html`<option value="${e}"${e === env ? html` selected` : ''}>${e}</option>`)}</select>
<small class="hint">Only merchants of the same environment are routed to it: sandbox merchants never reach a live rail.</small></div>
${kind.fields.map((f) => kindField(kind, f, { value: add?.settings[f.name] ?? '', adding: true }))}
<p class="hint">${SECRETS_NOTE}</p>
<button type="submit" class="primary">Add connector</button></form></section>`;
  }

  async function listPage(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    o: { flash?: string | undefined; alert?: string; add?: AddForm } = {},
  ) {
    const csrf = reply.csrfToken(req);
    const [list, routes] = await Promise.all([gw.connectors.list(), gw.connectors.routes()]);
    const takers = await takersByMethod(ctx, list);
    const routeOf = (key: MethodKey) =>
      routes.find((r) => r.scope === DEFAULT_SCOPE && r.method === key)?.connectorId ?? '';
    const body = html`<section><h1>Connectors</h1>
<p>The payment rails: each connector is one configured upstream (a bank, a wallet, an aggregator). ${SECRETS_NOTE}</p>
${flashOf(o.flash)}${o.alert ? html`<p class="notice" role="alert">${o.alert}</p>` : ''}
<table id="connectors"><thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Environment</th><th scope="col">Status</th><th scope="col">Settings</th><th scope="col">Secrets set</th><th scope="col">Actions</th></tr></thead>
<tbody>${list.map(
      (
        c,
      ) => html`<tr><td><a href="/admin/connectors/${c.id}"><code>${c.id}</code></a></td><td>${c.label}</td><td>${c.environment}</td>
<td><span class="status status-${c.enabled ? 'active' : 'suspended'}">${c.enabled ? 'enabled' : 'disabled'}</span></td><td>${settingsList(c.config)}</td>
<td>${c.secretsSet.length ? c.secretsSet.join(', ') : '—'}</td><td><a href="/admin/connectors/${c.id}">Edit</a> ${connectorActions(c, csrf, '/admin/connectors')}</td></tr>`,
    )}</tbody></table></section>
<section id="routes"><h2>Default routes</h2>
<p class="hint">Which connector takes each method for every merchant without an override (set overrides on a merchant’s page). A route counts only while its connector is enabled and of the merchant’s environment; without one, sandbox merchants pay on the Sandbox Bank and live merchants are not offered the method.</p>
<table><thead><tr><th scope="col">Method</th><th scope="col">Connector</th><th scope="col">Change</th></tr></thead>
<tbody>${METHOD_KEYS.map(
      (
        key,
      ) => html`<tr><th scope="row">${METHOD_LABELS[key]}</th><td>${routeOf(key) ? html`<code>${routeOf(key)}</code>` : '—'}</td>
<td><form method="post" action="/admin/connectors/routes">${csrfInput(csrf)}<input type="hidden" name="method" value="${key}">
${connectorSelect(`Default connector for ${METHOD_LABELS[key]}`, routeOf(key), takers(key), 'No default route')} <button type="submit" class="small">Save</button></form></td></tr>`,
    )}</tbody></table></section>
${addSection(csrf, o.add, textOf(req.query, 'add', 40))}`;
    return sendAdminPage(ctx, req, reply, status, 'Connectors', body);
  }

  async function detailPage(
    req: FastifyRequest,
    reply: FastifyReply,
    c: ConnectorSummary,
    status: number,
    o: { flash?: Html; alert?: string; values?: Record<string, string> } = {},
  ) {
    const csrf = reply.csrfToken(req);
    const kind = CONNECTOR_KINDS[c.kind];
    const [routes, merchants] = await Promise.all([gw.connectors.routes(), merchantNames(ctx)]);
    const mine = routes.filter((r) => r.connectorId === c.id);
    const body = html`<section><h1>Connector <code>${c.id}</code></h1>
${o.flash ?? ''}${o.alert ? html`<p class="notice" role="alert">${o.alert}</p>` : ''}
${details([
  ['Kind', `${c.label} (${c.kind})`],
  ['Environment', c.environment],
  ['Status', c.enabled ? 'enabled' : 'disabled: takes no new payments'],
  ['Settings', settingsList(c.config)],
  ['Secrets set', c.secretsSet.join(', ')],
  ['Last changed', gw.formatTime(c.updatedAt)],
])}
${connectorActions(c, csrf, `/admin/connectors/${c.id}`)}
</section>
<section><h2>Change settings</h2>
${
  kind && kind.fields.length > 0
    ? html`<form method="post" action="/admin/connectors/${c.id}/update" novalidate autocomplete="off">${csrfInput(csrf)}
${kind.fields.map((f) =>
  kindField(kind, f, {
    value: o.values?.[f.name] ?? c.config[f.name] ?? '',
    adding: false,
    secretSet: c.secretsSet.includes(f.name),
  }),
)}
<p class="hint">${SECRETS_NOTE} An emptied base URL goes back to the upstream’s own.</p>
<button type="submit" class="primary">Save</button></form>`
    : html`<p>${kind ? `${kind.label} has nothing to configure.` : `Unknown kind ${c.kind}: it cannot be configured here.`}</p>`
}</section>
<section><h2>Routed to it</h2>
${
  mine.length === 0
    ? html`<p>No method is routed to ${c.id}.</p>`
    : html`<ul>${mine.map((r) => html`<li>${isMethodKey(r.method) ? METHOD_LABELS[r.method] : r.method}: ${r.scope === DEFAULT_SCOPE ? 'every merchant (default)' : html`<a href="/admin/merchants/${r.scope}">${merchants.get(r.scope)?.name ?? r.scope}</a>`}</li>`)}</ul>`
}
<p><a href="/admin/connectors">All connectors</a></p></section>`;
    return sendAdminPage(ctx, req, reply, status, `Connector ${c.id}`, body);
  }

  app.get('/connectors', adminOnly, async (req, reply) =>
    listPage(req, reply, 200, { flash: await flashText(req.query) }),
  );

  app.post('/connectors', adminOnly, async (req, reply) => {
    const b = req.body;
    const kindName = textOf(b, 'kind', 40).trim();
    const kind = CONNECTOR_KINDS[kindName];
    const fields = kind ? postedFields(kind, b) : {};
    const add: AddForm = {
      kind: kindName,
      id: textOf(b, 'id', 80).trim(),
      environment: textOf(b, 'environment', 20),
      settings: Object.fromEntries(
        kind ? kind.fields.filter((f) => !f.secret).map((f) => [f.name, fields[f.name] ?? '']) : [],
      ),
    };
    const r = await gw.connectors.add(
      // add() checks the environment itself and names a wrong one with the other problems.
      { id: add.id, kind: kindName, environment: add.environment as ConnectorEnvironment, fields },
      actorOf(req),
    );
    if (!r.ok) return listPage(req, reply, 422, { alert: `${sentence(r.message)} Nothing was changed.`, add });
    return reply.redirect(`/admin/connectors/${add.id}?done=added&connector=${add.id}`, 303);
  });

  app.post('/connectors/routes', adminOnly, async (req, reply) => {
    const method = textOf(req.body, 'method', 40);
    const target = textOf(req.body, 'connector', 64).trim();
    const r = await gw.connectors.route(DEFAULT_SCOPE, method, target || null, actorOf(req));
    if (!r.ok) return listPage(req, reply, 422, { alert: `${sentence(r.message)} Nothing was changed.` });
    return reply.redirect(
      `/admin/connectors?done=${target ? 'routed' : 'unrouted'}&method=${encodeURIComponent(method)}`,
      303,
    );
  });

  const notFound = (req: FastifyRequest, reply: FastifyReply) =>
    sendNotFound(ctx, req, reply, 'connector', ['/admin/connectors', 'All connectors']);

  app.get<{ Params: { id: string } }>('/connectors/:id', adminOnly, async (req, reply) => {
    const c = await findConnector(ctx, req.params.id);
    if (!c) return notFound(req, reply);
    return detailPage(req, reply, c, 200, { flash: flashOf(await flashText(req.query)) });
  });

  app.post<{ Params: { id: string } }>('/connectors/:id/update', adminOnly, async (req, reply) => {
    const c = await findConnector(ctx, req.params.id);
    const kind = c && CONNECTOR_KINDS[c.kind];
    if (!c || !kind) return notFound(req, reply);
    const fields = postedFields(kind, req.body);
    const r = await gw.connectors.update(c.id, fields, actorOf(req));
    if (!r.ok)
      return detailPage(req, reply, c, 422, { alert: `${sentence(r.message)} Nothing was changed.`, values: fields });
    return reply.redirect(`/admin/connectors/${c.id}?done=updated&connector=${c.id}`, 303);
  });

  for (const verb of ['enable', 'disable'] as const) {
    app.post<{ Params: { id: string } }>(`/connectors/:id/${verb}`, adminOnly, async (req, reply) => {
      const c = await findConnector(ctx, req.params.id);
      if (!c) return notFound(req, reply);
      const r = await gw.connectors.setEnabled(c.id, verb === 'enable', actorOf(req));
      if (!r.ok) return detailPage(req, reply, c, 422, { alert: `${sentence(r.message)} Nothing was changed.` });
      const back = safeBack(textOf(req.body, 'back', 200), '/admin/connectors');
      return reply.redirect(`${back}?done=${verb}d&connector=${c.id}`, 303);
    });
  }

  app.post<{ Params: { id: string } }>('/connectors/:id/test', adminOnly, async (req, reply) => {
    const c = await findConnector(ctx, req.params.id);
    if (!c) return notFound(req, reply);
    const r = await gw.connectors.test(c.id);
    const flash = r.ok
      ? html`<p class="flash" role="status"><strong>Test passed</strong>: ${sentence(r.detail)}</p>`
      : html`<p class="notice" role="alert"><strong>Test failed</strong>: ${sentence(r.message)}</p>`;
    return detailPage(req, reply, c, 200, { flash });
  });
}
