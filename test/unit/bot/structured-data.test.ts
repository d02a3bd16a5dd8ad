import { describe, expect, it } from 'vitest';
import { capabilitiesOfProfile, capabilityKey, ownCapabilities, splitKey, supportsEvent, valueAt } from '../../../bots/capabilities.ts';
import { decryptAttachment } from '../../../bots/crypto.ts';
import { encryptReserved } from '../../../bots/fhir-files.ts';
import { wantsStatus } from '../../../bots/inbound.ts';
import { readPatientAction } from '../../../bots/patient-events.ts';
import { contentBytes, fitsInline, INLINE_BUDGET_BYTES, renderFhir, renderOutgoing } from '../../../bots/render.ts';
import { FORM_DATA, FORM_DEFINITION } from '../../../core/fhir/isik.ts';
import type { FhirOutgoing } from '../../../core/outgoing.ts';
import { formQuestionnaire } from '../../../core/tim/form.ts';
import { checkClientCapabilities, checkFhirEvent, checkStatusResponse } from '../../harness/tim-schema.ts';
import { shippedFlow } from '../helpers.ts';

/**
 * The Matrix side of TI-M structured data (bots/): events as gematik's schemas
 * describe them (checked by test/harness/tim-schema.ts, written from those
 * schemas), client capabilities (MSC4401), and large resources as files.
 */
const flow = shippedFlow('post-op');
const form: FhirOutgoing = {
  type: 'fhir',
  structure: FORM_DEFINITION,
  resource: JSON.stringify(formQuestionnaire(flow, 'de', { mdr: 'none' })),
  fileName: 'post-op.json',
  text: 'Fragebogen „Check-in“\nzweite Zeile',
  statusLifetimeMs: 3_600_000,
  form: { deliveryId: 'd1', recipient: '@erika:klinik.de' },
};
const reserved = {
  url: 'mxc://klinik.de/abc',
  k: Buffer.alloc(32, 7).toString('base64url'),
  iv: Buffer.concat([Buffer.alloc(8, 9), Buffer.alloc(8)])
    .toString('base64')
    .replace(/=+$/, ''),
};

describe('rendering de.gematik.fhir and de.gematik.response.status', () => {
  it('a form inline: fhir.json holds, the text fallback plain text first, a status request from our device', () => {
    const event = renderFhir(form, { deviceId: 'VISITEDEV' });
    expect(checkFhirEvent(event)).toEqual([]);
    expect(event.content['de.gematik.fhir.structure_definition']).toEqual({
      url: FORM_DEFINITION.url,
      version: '5.0.0',
      type: 'Questionnaire',
      fhir_version: '4.0.1',
    });
    expect((event.content['de.gematik.text'] as Array<{ mimetype: string }>).map((t) => t.mimetype)).toEqual(['text/plain', 'text/html']);
    expect(event.content['de.gematik.request.status']).toEqual({ from_device: 'VISITEDEV', lifetime: 3_600_000 });
    expect((event.content['de.gematik.fhir.resource'] as { resourceType: string }).resourceType).toBe('Questionnaire');
    expect(fitsInline(form)).toBe(true);
  });

  it('a large resource as an encrypted file: fhir.json holds, no inline copy', () => {
    const { file } = encryptReserved(new TextEncoder().encode(form.resource), reserved);
    const event = renderFhir(form, { deviceId: 'VISITEDEV', file });
    expect(checkFhirEvent(event)).toEqual([]);
    expect(event.content['de.gematik.fhir.resource']).toBeUndefined();
    expect(event.content['de.gematik.fhir.file']).toMatchObject({ url: reserved.url, name: 'post-op.json', mimetype: 'application/fhir+json', v: 'v2' });
    const huge = { ...form, resource: JSON.stringify({ resourceType: 'Questionnaire', description: 'x'.repeat(INLINE_BUDGET_BYTES) }) };
    expect(fitsInline(huge)).toBe(false);
    expect(contentBytes(renderFhir(huge, { file }).content)).toBeLessThan(INLINE_BUDGET_BYTES);
  });

  it('a processing status: statusResponse.json holds, related to the event by m.reference', () => {
    const event = renderOutgoing(
      {
        type: 'status',
        relatesTo: '$form',
        status: 'error',
        messages: [
          { type: 'error', text: 'Das Formular konnte nicht übernommen werden.' },
          { type: 'warning', text: 'pain: out-of-range' },
        ],
      },
      undefined,
      { deviceId: 'VISITEDEV' },
    );
    expect(checkStatusResponse(event)).toEqual([]);
    expect(event.content['m.relates_to']).toEqual({ rel_type: 'm.reference', event_id: '$form' });
  });

  it('the file key decrypts what was uploaded; the same reservation gives the same bytes (a resend uploads nothing new)', () => {
    const plain = new TextEncoder().encode(form.resource);
    const a = encryptReserved(plain, reserved);
    const b = encryptReserved(plain, reserved);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(a.file.hashes.sha256).toBe(b.file.hashes.sha256);
    expect(Buffer.from(decryptAttachment(a.data, a.file)).toString('utf8')).toBe(form.resource);
  });
});

describe('client capabilities (clientCapabilities.json, MSC4401)', () => {
  const questionnaireEvent = renderFhir(form, {});
  const requirement = (version: string) => ({
    events: [
      {
        type: 'de.gematik.fhir',
        content: [
          { key: 'de\\.gematik\\.fhir\\.structure_definition.url', value: FORM_DEFINITION.url },
          { key: 'de\\.gematik\\.fhir\\.structure_definition.version', value: version },
        ],
      },
    ],
  });

  it('keys are push-rule paths: escaped dots are part of a name; unescaped ones find dotted names too', () => {
    expect(splitKey('de\\.gematik\\.fhir\\.structure_definition.url')).toEqual(['de.gematik.fhir.structure_definition', 'url']);
    expect(valueAt(questionnaireEvent.content, 'de\\.gematik\\.fhir\\.structure_definition.url')).toBe(FORM_DEFINITION.url);
    expect(valueAt(questionnaireEvent.content, 'de.gematik.fhir.structure_definition.type')).toBe('Questionnaire');
    expect(valueAt({ msgtype: 'm.text' }, 'msgtype')).toBe('m.text');
    expect(valueAt(questionnaireEvent.content, 'de.gematik.fhir.nothing')).toBeUndefined();
  });

  it('a device supports the form when type and every content requirement match exactly', () => {
    expect(supportsEvent(requirement('5.0.0').events, questionnaireEvent)).toBe(true);
    expect(supportsEvent(requirement('6.0.0').events, questionnaireEvent)).toBe(false);
    expect(supportsEvent([{ type: 'de.gematik.fhir' }], questionnaireEvent)).toBe(true);
    expect(supportsEvent([{ type: 'm.room.message' }], questionnaireEvent)).toBe(false);
  });

  it('reads de.gematik.client_capability.<device> profile keys, device ids compared in lower case, malformed entries ignored', () => {
    const profile = {
      displayname: 'Erika',
      [capabilityKey('ABCDEF')]: requirement('5.0.0'),
      'de.gematik.client_capability.broken': { events: 'no' },
      'de.gematik.client_capability.odd': { events: [{ nope: 1 }, { type: 'x' }] },
    };
    const read = capabilitiesOfProfile(profile);
    expect(capabilityKey('ABCDEF')).toBe('de.gematik.client_capability.abcdef');
    expect([...read.keys()].sort()).toEqual(['abcdef', 'odd']);
    expect(read.get('odd')).toEqual([{ type: 'x' }]);
  });

  it('Visite announces that it takes ISiKFormularDaten and processing statuses', () => {
    const own = ownCapabilities();
    expect(checkClientCapabilities(own)).toEqual([]);
    const answer = renderFhir({
      type: 'fhir',
      structure: FORM_DATA,
      resource: '{"resourceType":"QuestionnaireResponse"}',
      fileName: 'a.json',
      text: 'Antwort',
    });
    expect(supportsEvent(own.events, answer)).toBe(true);
    expect(supportsEvent(own.events, questionnaireEvent)).toBe(false);
  });
});

describe('reading structured data from the patient', () => {
  const qr = { resourceType: 'QuestionnaireResponse', status: 'completed' };
  const sd = { url: FORM_DATA.url, version: '5.0.0', type: 'QuestionnaireResponse', fhir_version: '4.0.1' };

  it('a form answer inline, with a status request', () => {
    const action = readPatientAction('de.gematik.fhir', {
      'de.gematik.fhir.structure_definition': sd,
      'de.gematik.text': [{ body: 'Antworten' }],
      'de.gematik.fhir.resource': qr,
      'de.gematik.request.status': { from_device: 'PHONE', to_device: 'VISITEDEV', lifetime: 60_000 },
    });
    expect(action).toEqual({
      type: 'fhir',
      structure: { url: FORM_DATA.url, version: '5.0.0', type: 'QuestionnaireResponse', fhirVersion: '4.0.1' },
      resource: qr,
      statusRequest: { fromDevice: 'PHONE', toDevice: 'VISITEDEV', lifetimeMs: 60_000 },
    });
  });

  it('a form answer as an encrypted file', () => {
    const { file } = encryptReserved(new TextEncoder().encode(JSON.stringify(qr)), reserved);
    const action = readPatientAction('de.gematik.fhir', {
      'de.gematik.fhir.structure_definition': sd,
      'de.gematik.text': [{ body: 'Antworten' }],
      'de.gematik.fhir.file': { ...file, name: 'qr.json', mimetype: 'application/fhir+json' },
    });
    expect(action).toMatchObject({ type: 'fhir', file: { url: reserved.url, name: 'qr.json', encrypted: { key: { k: reserved.k } } } });
  });

  it.each([
    ['no text fallback', { 'de.gematik.fhir.structure_definition': sd, 'de.gematik.fhir.resource': qr }, /de\.gematik\.text/],
    ['neither resource nor file', { 'de.gematik.fhir.structure_definition': sd, 'de.gematik.text': [{ body: 'x' }] }, /de\.gematik\.fhir\.resource/],
    ['no structure definition', { 'de.gematik.text': [{ body: 'x' }], 'de.gematik.fhir.resource': qr }, /structure_definition/],
    [
      'a file without mxc',
      { 'de.gematik.fhir.structure_definition': sd, 'de.gematik.text': [{ body: 'x' }], 'de.gematik.fhir.file': { url: 'https://x', name: 'a' } },
      /de\.gematik\.fhir\.file/,
    ],
    [
      'half an encrypted file',
      { 'de.gematik.fhir.structure_definition': sd, 'de.gematik.text': [{ body: 'x' }], 'de.gematik.fhir.file': { url: 'mxc://a/b', name: 'a', iv: 'x' } },
      /EncryptedFile/,
    ],
  ])('names the fhir.json rule an event breaks: %s', (_what, content, rule) => {
    const action = readPatientAction('de.gematik.fhir', content);
    expect(action?.type).toBe('fhir');
    expect((action as { invalid?: string }).invalid).toMatch(rule);
  });

  it('a processing status about one of our events', () => {
    expect(
      readPatientAction('de.gematik.response.status', {
        'de.gematik.response.status': { from_device: 'PHONE', status: 'error' },
        'm.relates_to': { rel_type: 'm.reference', event_id: '$form' },
      }),
    ).toEqual({ type: 'status', relatesTo: '$form', status: 'error', fromDevice: 'PHONE' });
    expect(readPatientAction('de.gematik.response.status', { 'de.gematik.response.status': { status: 'fine' } })).toBeNull();
  });

  it('answers a status request addressed to us and still alive; and events without one', () => {
    const now = 1_000_000;
    expect(wantsStatus(undefined, 'VISITEDEV', now, now)).toBe(true);
    expect(wantsStatus({ fromDevice: 'P' }, 'VISITEDEV', now, now)).toBe(true);
    expect(wantsStatus({ fromDevice: 'P', toDevice: 'VISITEDEV', lifetimeMs: 10 }, 'VISITEDEV', now - 5, now)).toBe(true);
    expect(wantsStatus({ fromDevice: 'P', toDevice: 'OTHER' }, 'VISITEDEV', now, now)).toBe(false);
    expect(wantsStatus({ fromDevice: 'P', lifetimeMs: 10 }, 'VISITEDEV', now - 50, now)).toBe(false);
  });
});
