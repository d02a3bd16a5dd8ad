import type { Patient } from '@medplum/fhirtypes';

/** A Visite patient as FHIR R4 Patient: the Matrix id as identifier, the preferred language. */
export function patientResource(row: { id: string; matrixUserId: string; displayName: string | null; language: string }): Patient {
  return {
    resourceType: 'Patient',
    id: row.id,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `matrix:u/${row.matrixUserId.slice(1)}` }],
    ...(row.displayName ? { name: [{ text: row.displayName }] } : {}),
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: row.language }] }, preferred: true }],
  };
}
