/**
 * Checks of TI-M structured-data events, written from the rules of gematik's
 * JSON schemas (github.com/gematik/api-ti-messenger, src/schema/*.json, as of
 * commit f8654d7). Independent of Visite's code on purpose: every check names
 * the schema file and the field it comes from, and returns what is wrong
 * (an empty list: the object follows the schema).
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isNonNegativeInteger = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** `de.gematik.text`: array, minItems 1, items with required `body` (string) and optional `mimetype` (string); a text/plain entry is required. */
function checkTexts(schema: string, path: string, value: unknown, out: string[]): void {
  if (!Array.isArray(value)) {
    out.push(`${schema}: ${path} must be an array`);
    return;
  }
  if (value.length < 1) out.push(`${schema}: ${path} minItems 1`);
  value.forEach((item, i) => {
    if (!isObject(item)) out.push(`${schema}: ${path}[${i}] must be an object`);
    else {
      if (!isString(item['body'])) out.push(`${schema}: ${path}[${i}].body is required (string)`);
      if (item['mimetype'] !== undefined && !isString(item['mimetype'])) out.push(`${schema}: ${path}[${i}].mimetype must be a string`);
    }
  });
  // "Senders MUST ... always include a plaintext representation" (mimetype defaults to text/plain).
  if (!value.some((item) => isObject(item) && (item['mimetype'] === undefined || item['mimetype'] === 'text/plain')))
    out.push(`${schema}: ${path} must include a text/plain representation`);
}

/** A file object (`de.gematik.fhir.file` / `de.gematik.file`): url (^mxc://.+) and name required; size integer ≥ 0; key, iv, hashes, v as in EncryptedFile. */
function checkFile(schema: string, path: string, value: unknown, mimetypes: readonly string[] | undefined, out: string[]): void {
  if (!isObject(value)) {
    out.push(`${schema}: ${path} must be an object`);
    return;
  }
  if (!isString(value['url']) || !/^mxc:\/\/.+/.test(value['url'])) out.push(`${schema}: ${path}.url is required and must match ^mxc://.+`);
  if (!isString(value['name'])) out.push(`${schema}: ${path}.name is required (string)`);
  if (value['mimetype'] !== undefined && (!isString(value['mimetype']) || (mimetypes && !mimetypes.includes(value['mimetype']))))
    out.push(`${schema}: ${path}.mimetype must be one of ${mimetypes?.join(', ') ?? 'a string'}`);
  if (value['size'] !== undefined && !isNonNegativeInteger(value['size'])) out.push(`${schema}: ${path}.size must be an integer ≥ 0`);
  if (value['key'] !== undefined && !isObject(value['key'])) out.push(`${schema}: ${path}.key must be an object (JWK)`);
  if (value['iv'] !== undefined && !isString(value['iv'])) out.push(`${schema}: ${path}.iv must be a string`);
  if (value['hashes'] !== undefined && !isObject(value['hashes'])) out.push(`${schema}: ${path}.hashes must be an object`);
  if (value['v'] !== undefined && !isString(value['v'])) out.push(`${schema}: ${path}.v must be a string`);
  const encrypted = ['key', 'iv', 'hashes', 'v'].filter((k) => value[k] !== undefined);
  if (encrypted.length > 0 && encrypted.length < 4) out.push(`${schema}: ${path}: key, iv, hashes and v are all REQUIRED if the file is encrypted`);
}

/** `de.gematik.fhir.structure_definition` (and its `content[]` items): url, version, type, fhir_version required strings. */
function checkStructure(path: string, value: unknown, out: string[]): void {
  if (!isObject(value)) {
    out.push(`fhir.json: ${path} is required (object)`);
    return;
  }
  for (const key of ['url', 'version', 'type', 'fhir_version']) if (!isString(value[key])) out.push(`fhir.json: ${path}.${key} is required (string)`);
  if (value['content'] !== undefined) {
    if (!Array.isArray(value['content'])) out.push(`fhir.json: ${path}.content must be an array`);
    else value['content'].forEach((c, i) => checkStructure(`${path}.content[${i}]`, c, out));
  }
}

/** statusRequest.json: from_device required (string), to_device string, lifetime integer ≥ 0. */
export function checkStatusRequest(value: unknown): string[] {
  const out: string[] = [];
  if (!isObject(value)) return ['statusRequest.json: must be an object'];
  if (!isString(value['from_device'])) out.push('statusRequest.json: from_device is required (string)');
  if (value['to_device'] !== undefined && !isString(value['to_device'])) out.push('statusRequest.json: to_device must be a string');
  if (value['lifetime'] !== undefined && !isNonNegativeInteger(value['lifetime'])) out.push('statusRequest.json: lifetime must be an integer ≥ 0');
  return out;
}

/** fhir.json: type `de.gematik.fhir`; content with structure_definition, de.gematik.text and one of resource / file. */
export function checkFhirEvent(event: { type: string; content: unknown }): string[] {
  const out: string[] = [];
  if (event.type !== 'de.gematik.fhir') out.push('fhir.json: type const de.gematik.fhir');
  const c = event.content;
  if (!isObject(c)) return [...out, 'fhir.json: content is required (object)'];
  checkStructure('content.de.gematik.fhir.structure_definition', c['de.gematik.fhir.structure_definition'], out);
  checkTexts('fhir.json', 'content.de.gematik.text', c['de.gematik.text'], out);
  const resource = c['de.gematik.fhir.resource'];
  const file = c['de.gematik.fhir.file'];
  if (resource === undefined && file === undefined) out.push('fhir.json: content anyOf requires de.gematik.fhir.resource or de.gematik.fhir.file');
  if (resource !== undefined && !isObject(resource)) out.push('fhir.json: content.de.gematik.fhir.resource must be an object');
  if (file !== undefined) checkFile('fhir.json', 'content.de.gematik.fhir.file', file, ['application/fhir+json', 'application/fhir+xml'], out);
  if (c['de.gematik.file'] !== undefined) checkFile('fhir.json', 'content.de.gematik.file', c['de.gematik.file'], undefined, out);
  if (c['de.gematik.request.status'] !== undefined) out.push(...checkStatusRequest(c['de.gematik.request.status']));
  return out;
}

/** statusResponse.json: type `de.gematik.response.status`; content block with from_device and status, messages; m.relates_to m.reference. */
export function checkStatusResponse(event: { type: string; content: unknown }): string[] {
  const out: string[] = [];
  if (event.type !== 'de.gematik.response.status') out.push('statusResponse.json: type const de.gematik.response.status');
  const c = event.content;
  if (!isObject(c)) return [...out, 'statusResponse.json: content is required (object)'];
  const block = c['de.gematik.response.status'];
  if (!isObject(block)) out.push('statusResponse.json: content.de.gematik.response.status is required (object)');
  else {
    if (!isString(block['from_device'])) out.push('statusResponse.json: de.gematik.response.status.from_device is required (string)');
    if (block['status'] !== 'success' && block['status'] !== 'error') out.push('statusResponse.json: de.gematik.response.status.status enum success | error');
    if (block['messages'] !== undefined) {
      if (!Array.isArray(block['messages'])) out.push('statusResponse.json: de.gematik.response.status.messages must be an array');
      else
        block['messages'].forEach((m, i) => {
          if (!isObject(m)) out.push(`statusResponse.json: messages[${i}] must be an object`);
          else {
            if (!['info', 'warning', 'error'].includes(String(m['type']))) out.push(`statusResponse.json: messages[${i}].type enum info | warning | error`);
            checkTexts('statusResponse.json', `messages[${i}].de.gematik.text`, m['de.gematik.text'], out);
          }
        });
    }
  }
  const rel = c['m.relates_to'];
  if (!isObject(rel)) out.push('statusResponse.json: content.m.relates_to is required (object)');
  else {
    if (rel['rel_type'] !== 'm.reference') out.push('statusResponse.json: m.relates_to.rel_type const m.reference');
    if (!isString(rel['event_id'])) out.push('statusResponse.json: m.relates_to.event_id is required (string)');
  }
  return out;
}

/** clientCapabilities.json: { events: [{ type: string, content?: [{ key: string, value: string }] }] }. */
export function checkClientCapabilities(value: unknown): string[] {
  const out: string[] = [];
  if (!isObject(value)) return ['clientCapabilities.json: must be an object'];
  if (!Array.isArray(value['events'])) return ['clientCapabilities.json: events must be an array'];
  value['events'].forEach((e, i) => {
    if (!isObject(e)) return out.push(`clientCapabilities.json: events[${i}] must be an object`);
    if (!isString(e['type'])) out.push(`clientCapabilities.json: events[${i}].type must be a string`);
    if (e['content'] !== undefined) {
      if (!Array.isArray(e['content'])) out.push(`clientCapabilities.json: events[${i}].content must be an array`);
      else
        e['content'].forEach((r, j) => {
          if (!isObject(r) || !isString(r['key']) || !isString(r['value']))
            out.push(`clientCapabilities.json: events[${i}].content[${j}] requires key and value (strings)`);
        });
    }
    return undefined;
  });
  return out;
}
