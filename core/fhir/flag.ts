import type { Flag } from '@medplum/fhirtypes';
import { assertValidR4 } from './validate.ts';

/**
 * An alert as a FHIR R4 Flag: `active` while open, `inactive` with
 * `period.end` once a clinician took it over. The Flag carries the alert's
 * first line (severity, what triggered); the full text is in the care-team room.
 */
export interface AlertFlagInput {
  id: string;
  patientId: string;
  severity: 'info' | 'warning' | 'urgent';
  summary: string;
  raisedAt: Date;
  acknowledgedAt?: Date | null;
  acknowledgedBy?: string | null;
}

const SEVERITY_CODE = { urgent: 'urgent', warning: 'warning', info: 'info' } as const;

export function alertFlag(input: AlertFlagInput): Flag {
  const flag: Flag = {
    resourceType: 'Flag',
    id: input.id,
    status: input.acknowledgedAt ? 'inactive' : 'active',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'clinical', display: 'Clinical' }] }],
    code: { coding: [{ system: 'https://visite.example/fhir/CodeSystem/alert-severity', code: SEVERITY_CODE[input.severity] }], text: input.summary },
    subject: { reference: `Patient/${input.patientId}` },
    period: { start: input.raisedAt.toISOString(), ...(input.acknowledgedAt ? { end: input.acknowledgedAt.toISOString() } : {}) },
    ...(input.acknowledgedBy
      ? { extension: [{ url: 'https://visite.example/fhir/StructureDefinition/acknowledged-by', valueString: input.acknowledgedBy }] }
      : {}),
  };
  assertValidR4(flag);
  return flag;
}
