/**
 * Pure decisions about which Matrix events the bot acts on. Kept apart from the
 * adapter so every rule is unit-tested without a homeserver.
 */

/** Clock skew we tolerate between the homeserver and us when judging "older than start". */
export const START_SKEW_MS = 5_000;

/**
 * True when `userId` matches an allow-list entry: an exact Matrix id or a
 * `@*:server` pattern admitting everyone on that server.
 */
export function isInviterAllowed(userId: string, allowList: readonly string[]): boolean {
  const server = userId.slice(userId.indexOf(':') + 1);
  return allowList.some((entry) => entry === userId || (entry.startsWith('@*:') && entry.slice(3) === server));
}

/** Own echoes and events from before this process started are not ours to answer. */
export function isActionable(event: { sender: string; origin_server_ts: number }, botUserId: string, startedAt: number): boolean {
  return event.sender !== botUserId && event.origin_server_ts >= startedAt - START_SKEW_MS;
}
