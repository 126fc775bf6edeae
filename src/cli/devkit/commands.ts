import { runDoctor } from './doctor.js';
import { DevkitUsageError, resolveTarget } from './gateway-api.js';
import { runListen } from './listen.js';
import { runTrigger } from './trigger.js';

type DevkitValues = {
  gateway?: string | undefined;
  'api-key'?: string | undefined;
  'forward-to'?: string | undefined;
  events?: string | undefined;
  session?: string | undefined;
  amount?: string | undefined;
  currency?: string | undefined;
  'callback-url'?: string | undefined;
  token?: string | undefined;
  json?: boolean | undefined;
};

const out = (s: string) => process.stdout.write(s + '\n');
const err = (s: string) => process.stderr.write(s + '\n');

function httpUrl(flag: string, v: string | undefined): string {
  if (!v) throw new DevkitUsageError(`${flag} URL is required`);
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
  } catch {
    // said below
  }
  throw new DevkitUsageError(`${flag} must be an http(s) URL (got ${v})`);
}

/** `wmx listen|trigger|doctor`; undefined for any other command. */
export async function runDevkitCommand(pos: string[], v: DevkitValues): Promise<number | undefined> {
  const [command, arg, ...rest] = pos;
  if (command !== 'listen' && command !== 'trigger' && command !== 'doctor') return undefined;
  if (rest.length > 0 || (command !== 'trigger' && arg !== undefined))
    throw new DevkitUsageError(`unexpected argument: ${[arg, ...rest].filter(Boolean).join(' ')}`);
  const target = resolveTarget(v);
  switch (command) {
    case 'listen': {
      const forwardTo = httpUrl('--forward-to', v['forward-to']);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        return await runListen(target, {
          forwardTo,
          events: v.events
            ? v.events
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : [],
          ...(v.session ? { session: v.session } : {}),
          json: v.json ?? false,
          out,
          err,
          signal: stop.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }
    case 'trigger':
      return runTrigger(target, arg ?? '', { amount: v.amount, currency: v.currency, json: v.json, out });
    case 'doctor':
      return runDoctor(target, {
        callbackUrl: httpUrl('--callback-url', v['callback-url']),
        ...(v.token ? { token: v.token } : {}),
        json: v.json ?? false,
        out,
      });
  }
}
