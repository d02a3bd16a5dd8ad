import type { MatrixClient } from 'matrix-bot-sdk';
import { z } from 'zod';
import { FORM_DATA } from '../core/fhir/isik.ts';
import { errorFields, type Logger } from '../core/logging.ts';

/**
 * What a client can show, per device, in the user's profile (gematik
 * api-ti-messenger src/schema/clientCapabilities.json, MSC4401): profile keys
 * `de.gematik.client_capability.<DEVICE_ID>` holding
 * `{ events: [{ type, content?: [{ key, value }] }] }`. An entry says: this
 * device understands events of `type` whose content has `value` at `key` (a
 * dot-separated path from `content`, like `event_match` push-rule keys).
 *
 * Two things gematik's texts leave open, decided here (docs/tim.md):
 * - Keys of `de.gematik.*` content contain dots themselves. Push-rule keys
 *   escape them (`de\.gematik\.fhir\.structure_definition.url`, as MSC4401's
 *   own example does); unescaped paths are read too, matching the longest key
 *   that exists at each level.
 * - Profile keys must follow the namespaced-identifier grammar (lower case),
 *   device ids are upper case: Visite writes the device id in lower case and
 *   compares device ids case-insensitively.
 */
export const CAPABILITY_PREFIX = 'de.gematik.client_capability.';

const requirement = z.object({ key: z.string(), value: z.string() });
const capabilityEvent = z.object({ type: z.string(), content: z.array(requirement).optional() });
const capabilities = z.object({ events: z.array(z.unknown()) });

export type CapabilityEvent = z.infer<typeof capabilityEvent>;

/** The profile key for a device's capabilities (lower case: profile keys must be). */
export function capabilityKey(deviceId: string): string {
  return `${CAPABILITY_PREFIX}${deviceId.toLowerCase()}`;
}

/** Device (lower-cased id) → the events it announces; malformed entries are passed over. */
export function capabilitiesOfProfile(profile: Record<string, unknown>): Map<string, CapabilityEvent[]> {
  const out = new Map<string, CapabilityEvent[]>();
  for (const [key, value] of Object.entries(profile)) {
    if (!key.startsWith(CAPABILITY_PREFIX)) continue;
    const parsed = capabilities.safeParse(value);
    if (!parsed.success) continue;
    const events = parsed.data.events.flatMap((e) => {
      const one = capabilityEvent.safeParse(e);
      return one.success ? [one.data] : [];
    });
    out.set(key.slice(CAPABILITY_PREFIX.length).toLowerCase(), events);
  }
  return out;
}

/** A push-rule style key split into path segments: `\.` is a literal dot, `\\` a backslash. */
export function splitKey(key: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '\\' && (key[i + 1] === '.' || key[i + 1] === '\\')) {
      current += key[i + 1];
      i += 1;
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/**
 * The value at a key in event content. Segments are joined greedily when the
 * content has a key containing dots, so `de.gematik.fhir.structure_definition.url`
 * finds `content["de.gematik.fhir.structure_definition"]["url"]` too.
 */
export function valueAt(content: unknown, key: string): unknown {
  const walk = (node: unknown, segments: string[]): unknown => {
    if (segments.length === 0) return node;
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    for (let take = segments.length; take >= 1; take--) {
      const name = segments.slice(0, take).join('.');
      if (Object.hasOwn(node, name)) {
        const found = walk((node as Record<string, unknown>)[name], segments.slice(take));
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };
  return walk(content, splitKey(key));
}

/** Does one of a device's announced events cover this event (type, and every content requirement exactly)? */
export function supportsEvent(events: readonly CapabilityEvent[], event: { type: string; content: Record<string, unknown> }): boolean {
  return events.some(
    (e) =>
      e.type === event.type &&
      (e.content ?? []).every((r) => {
        const v = valueAt(event.content, r.key);
        return (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && String(v) === r.value;
      }),
  );
}

/**
 * What Visite's own device announces: it takes ISiKFormularDaten answers as
 * `de.gematik.fhir` and processing statuses (`de.gematik.response.status`).
 */
export function ownCapabilities(): { events: CapabilityEvent[] } {
  const sd = 'de\\.gematik\\.fhir\\.structure_definition';
  return {
    events: [
      {
        type: 'de.gematik.fhir',
        content: [
          { key: `${sd}.url`, value: FORM_DATA.url },
          { key: `${sd}.version`, value: FORM_DATA.version },
          { key: `${sd}.type`, value: FORM_DATA.type },
          { key: `${sd}.fhir_version`, value: FORM_DATA.fhirVersion },
        ],
      },
      { type: 'de.gematik.response.status' },
    ],
  };
}

export interface CapabilityCheck {
  /** Some device of the user announces an event like this one. */
  capable: boolean;
  /** The devices that do (lower-cased ids), for the logs. */
  devices: string[];
}

/**
 * Whether one of a user's devices can show an event: their profile's
 * capability entries, limited to devices that still exist (stale entries of
 * logged-out devices are ignored when the device list can be read).
 */
export async function recipientSupports(
  matrix: MatrixClient,
  userId: string,
  event: { type: string; content: Record<string, unknown> },
  log: Logger,
): Promise<CapabilityCheck> {
  let profile: Record<string, unknown> = {};
  try {
    profile = (await matrix.doRequest('GET', `/_matrix/client/v3/profile/${encodeURIComponent(userId)}`)) as Record<string, unknown>;
  } catch (error) {
    // No profile at all (404) means no capabilities; anything else is worth a line in the log.
    if ((error as { statusCode?: number }).statusCode !== 404) log.warn('could not read a profile for client capabilities', errorFields(error));
    return { capable: false, devices: [] };
  }
  const announced = capabilitiesOfProfile(profile);
  if (announced.size === 0) return { capable: false, devices: [] };
  let existing: Set<string> | undefined;
  try {
    const keys = (await matrix.doRequest('POST', '/_matrix/client/v3/keys/query', null, { device_keys: { [userId]: [] } })) as {
      device_keys?: Record<string, Record<string, unknown>>;
    };
    const devices = Object.keys(keys.device_keys?.[userId] ?? {});
    if (devices.length > 0) existing = new Set(devices.map((d) => d.toLowerCase()));
  } catch (error) {
    log.warn('could not read the device list for client capabilities', errorFields(error));
  }
  const devices = [...announced].filter(([device, events]) => (!existing || existing.has(device)) && supportsEvent(events, event)).map(([device]) => device);
  return { capable: devices.length > 0, devices };
}

/** Announces Visite's own capabilities for its device (once per start; unchanged entries are not rewritten). */
export async function publishOwnCapabilities(matrix: MatrixClient, userId: string, deviceId: string): Promise<void> {
  const key = capabilityKey(deviceId);
  const path = `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/${encodeURIComponent(key)}`;
  const wanted = ownCapabilities();
  const current = await matrix.doRequest('GET', path).then(
    (body: Record<string, unknown>) => body[key],
    () => undefined,
  );
  if (JSON.stringify(current) === JSON.stringify(wanted)) return;
  await matrix.doRequest('PUT', path, null, { [key]: wanted });
}
