/**
 * Shared rate-limit buckets in Redis (WMX_REDIS_URL): one Lua script per ask, atomic on the
 * server and timed by its clock. Keys expire once a bucket would be full again. See SharedBuckets.
 * Commands are not queued while Redis is unreachable: they fail at once, and the limits decide in
 * process until it is back.
 */
import { Redis } from 'ioredis';
import type { BucketStore, RateSpec } from '../app/rate-limit.js';

// KEYS[1] bucket; ARGV: tokens per ms, burst, want (0: spend one whatever is left).
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(v[1]) or burst
local at = tonumber(v[2]) or now
local avail = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken
if want == 0 then
  taken = 1
  avail = math.max(0, avail - 1)
else
  taken = math.min(want, math.floor(avail))
  avail = avail - taken
end
redis.call('HSET', KEYS[1], 'tokens', tostring(avail), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - avail) / rate) + 1000)
return {taken, tostring(avail)}
`;

export function createRedisBucketStore(
  url: string,
  prefix: string,
): BucketStore & { ready(ms: number): Promise<boolean> } {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    // Reconnects for ever, at most every 2 s; meanwhile commands fail fast (see above).
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  redis.on('error', () => undefined); // reported per command, by the limits' log
  let sha: string | undefined;

  async function run(keys: string, args: (string | number)[]): Promise<unknown> {
    sha ??= (await redis.script('LOAD', TAKE)) as string;
    try {
      return await redis.evalsha(sha, 1, keys, ...args);
    } catch (e) {
      if (!String(e).includes('NOSCRIPT')) throw e;
      sha = undefined; // Redis restarted and forgot it
      return redis.eval(TAKE, 1, keys, ...args);
    }
  }

  return {
    /** Resolves once connected (true), or false after `ms`: the limits decide in process meanwhile. */
    ready(ms: number): Promise<boolean> {
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
    async take(key: string, spec: RateSpec, want: number) {
      const r = (await run(`${prefix}${key}`, [spec.perSecond / 1000, spec.burst, want])) as [number, string];
      return { taken: Number(r[0]), left: Number(r[1]) };
    },
    async close() {
      redis.disconnect();
    },
  };
}
