import type { Observation, Provenance, QuestionnaireResponse } from '@medplum/fhirtypes';
import type { ConversationState } from '../engine/types.ts';
import type { Flow } from '../flow/model.ts';
import type { MdrRelevance } from './isik.ts';
import { buildObservations, buildQuestionnaireResponse } from './response.ts';
import { assertValidR4, FhirValidationError } from './validate.ts';

/**
 * The FHIR records of a check-in at one point in time: its
 * QuestionnaireResponse (`in-progress` while it runs, `completed` at the end)
 * and, once completed, one Observation per extractable answer. Pure and
 * deterministic (ids from the check-in), so a replay rewrites the same rows.
 */
export interface FhirRecord {
  resourceType: 'QuestionnaireResponse' | 'Observation' | 'Provenance';
  id: string;
  codes: string[];
  effectiveAt: string | null;
  resource: QuestionnaireResponse | Observation | Provenance;
}

/** Who made the completed records: the patient authored the answers, Visite assembled the resources. */
function provenance(qr: QuestionnaireResponse, observations: Observation[], patientId: string, recorded: string): Provenance {
  const type = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code }] });
  return {
    resourceType: 'Provenance',
    id: `${qr.id}-provenance`,
    target: [{ reference: `QuestionnaireResponse/${qr.id}` }, ...observations.map((o) => ({ reference: `Observation/${o.id}` }))],
    recorded,
    agent: [
      { type: type('author'), who: { reference: `Patient/${patientId}` } },
      { type: type('assembler'), who: { display: 'Visite' } },
    ],
  };
}

/** Bindings medplum's structural validation does not check, but our readers rely on. */
const QR_STATUS = new Set(['in-progress', 'completed', 'amended', 'entered-in-error', 'stopped']);
const OBSERVATION_STATUS = new Set(['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown']);

function checkBindings(resource: QuestionnaireResponse | Observation): void {
  const allowed = resource.resourceType === 'Observation' ? OBSERVATION_STATUS : QR_STATUS;
  if (!allowed.has(resource.status)) {
    throw new FhirValidationError(resource.resourceType, [
      { severity: 'error', code: 'code-invalid', diagnostics: `status "${resource.status}" is not in the required value set` },
    ]);
  }
}

/**
 * `validate: 'completed'` checks against R4 only the records of a completed
 * check-in — what integrators import — and not the in-progress response the
 * service rewrites on every answer: it is built by the same functions (whose
 * output the unit tests validate at every step) and its validation was about a
 * fifth of the CPU per patient reply (docs/benchmarks.md). Default: all.
 */
export function checkinRecords(
  flow: Flow,
  state: ConversationState,
  ids: { patientId: string; checkinId: string },
  options: { mdr?: MdrRelevance; validate?: 'all' | 'completed' } = {},
): FhirRecord[] {
  const validate = options.validate !== 'completed' || state.status === 'completed';
  const ctx = { subject: `Patient/${ids.patientId}`, responseId: ids.checkinId, ...(options.mdr ? { mdr: options.mdr } : {}) };
  const qr: QuestionnaireResponse = { ...buildQuestionnaireResponse(flow, state, ctx), status: state.status === 'completed' ? 'completed' : 'in-progress' };
  const observations = state.status === 'completed' ? buildObservations(flow, state, ctx) : [];
  const resources: Array<QuestionnaireResponse | Observation | Provenance> = [qr, ...observations];
  if (state.status === 'completed') resources.push(provenance(qr, observations, ids.patientId, state.completedAt ?? qr.authored ?? new Date(0).toISOString()));
  return resources.map((resource) => {
    if (validate) assertValidR4(resource);
    if (resource.resourceType === 'Provenance')
      return { resourceType: 'Provenance' as const, id: resource.id!, codes: [], effectiveAt: resource.recorded, resource };
    checkBindings(resource);
    if (resource.resourceType === 'Observation') {
      return {
        resourceType: 'Observation' as const,
        id: resource.id!,
        codes: (resource.code.coding ?? []).map((c) => `${c.system ?? ''}|${c.code ?? ''}`),
        effectiveAt: resource.effectiveDateTime ?? null,
        resource,
      };
    }
    return { resourceType: 'QuestionnaireResponse' as const, id: resource.id!, codes: [], effectiveAt: resource.authored ?? null, resource };
  });
}
