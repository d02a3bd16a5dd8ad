/**
 * Matrix user ids (`@localpart:server[:port]`), defined once for the
 * configuration, the HTTP API and the care-team commands (room ids too). Pure.
 *
 * Localparts are the spec's current grammar (lower case, digits, `._=-/+`);
 * the server name is a DNS name or IPv4 address with an optional port.
 * The spec limits a whole user id to 255 bytes (UTF-8); a port is 1–65535.
 */
export const MATRIX_LOCALPART_PATTERN = '[a-z0-9._=\\-/+]+';
export const MATRIX_SERVER_NAME_PATTERN = '[A-Za-z0-9.\\-]+(?::\\d{1,5})?';
/** Source of the user-id pattern without anchors, to embed in other patterns. */
export const MATRIX_USER_ID_PATTERN = `@${MATRIX_LOCALPART_PATTERN}:${MATRIX_SERVER_NAME_PATTERN}`;
export const MATRIX_USER_ID = new RegExp(`^${MATRIX_USER_ID_PATTERN}$`);
/** A user id or `@*:server` (anyone on that server), as in VISITE_ALLOWED_INVITERS. */
export const MATRIX_INVITER = new RegExp(`^@(?:${MATRIX_LOCALPART_PATTERN}|\\*):${MATRIX_SERVER_NAME_PATTERN}$`);

/**
 * A room id: `!opaque:server[:port]`, or since room version 12 `!<hash>` without a server
 * (the create event's hash, unpadded URL-safe base64), which current Synapse gives new rooms.
 */
export const MATRIX_ROOM_ID = new RegExp(`^![A-Za-z0-9._~=\\-/+]+(?::${MATRIX_SERVER_NAME_PATTERN})?$`);

export const MAX_MATRIX_ID_BYTES = 255;
const utf8 = new TextEncoder();

/** Within the spec's limits: at most 255 bytes, and a port (if any) of 1–65535. */
export function withinMatrixLimits(id: string): boolean {
  if (utf8.encode(id).length > MAX_MATRIX_ID_BYTES) return false;
  const port = /:(\d+)$/.exec(id.slice(id.indexOf(':') + 1));
  return !port || (Number(port[1]) >= 1 && Number(port[1]) <= 65535);
}

export function isMatrixUserId(value: string): boolean {
  return MATRIX_USER_ID.test(value) && withinMatrixLimits(value);
}

export function isMatrixRoomId(value: string): boolean {
  return MATRIX_ROOM_ID.test(value) && withinMatrixLimits(value);
}

export function isMatrixInviter(value: string): boolean {
  return MATRIX_INVITER.test(value) && withinMatrixLimits(value);
}
