/**
 * Whether a bot account is exempt from the homeserver's message rate limits
 * (docs/operations.md "Rate limits"). A bot sends far more than a person: on
 * Synapse an admin sets `override_ratelimit` for it (or it runs as an
 * application service with `rate_limited: false`). The admin API answers only
 * to admins, so for most bots the answer is `unknown` and the operator is told
 * how to check; 429s are handled either way (per account, bots/outbox-sender.ts).
 */
export type RateLimitStatus = 'exempt' | 'limited' | 'unknown';

export async function rateLimitStatus(homeserverUrl: string, accessToken: string, userId: string): Promise<RateLimitStatus> {
  try {
    const res = await fetch(`${homeserverUrl}/_synapse/admin/v1/users/${encodeURIComponent(userId)}/override_ratelimit`, {
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) return 'unknown';
    const body = (await res.json()) as { messages_per_second?: number; burst_count?: number };
    return body.messages_per_second === 0 && body.burst_count === 0 ? 'exempt' : 'limited';
  } catch {
    return 'unknown';
  }
}
