import type { Db } from '../../db/database.ts';
import type { SecretBox } from '../../db/secrets.ts';
import type { Role } from '../../db/schema.ts';
import type { FlowAuthoring } from '../../services/flow-authoring.ts';
import type { Catalog, FlowFile } from '../../services/flows.ts';
import type { Whoami } from '../bot-accounts.ts';
import type { Logger } from '../logger.ts';
import type { TokenVerifier } from './auth.ts';

/** Who is calling: a person signed in through OIDC, or an organisation's API key. */
export interface Principal {
  kind: 'user' | 'api_key';
  /** OIDC subject or API key id. */
  id: string;
  orgId: string;
  roles: readonly Role[];
}

/** Side effects the API asks of the rest of Visite (Matrix), injected so routes stay thin. */
export interface PatientContact {
  /** Opens the patient's direct room if needed and introduces the bot (consent question). */
  welcome(patientId: string): Promise<void>;
  /**
   * Starts a check-in now; returns its id. Throws — before anything is stored — when the Matrix
   * side cannot act now (homeserver unreachable, room not creatable): the API then answers 503
   * `not_ready`. Queuing the question for later would report a check-in as running that the
   * patient never sees.
   */
  startCheckin(patientId: string, flowId: string): Promise<string>;
  /** The bot leaves and forgets the patient's room (erasure). */
  forgetRoom(roomId: string): Promise<void>;
  /**
   * What the organisation's bot accounts see of a room a care team wants as its alert room: is one joined, may it
   * post messages, and which of `clinicians` (Matrix ids) are joined members. Throws when the
   * homeserver cannot be asked (the API answers 503).
   */
  inspectRoom(orgId: string, roomId: string, clinicians: readonly string[]): Promise<RoomInspection>;
}

export interface RoomInspection {
  botJoined: boolean;
  botCanPost: boolean;
  /** The given clinicians who are joined members of the room. */
  clinicians: string[];
}

export interface ApiDeps {
  db: Db;
  /** Every organisation's flows (own versions, deployed files): what patients get. */
  flows: Catalog;
  /** Drafts, review, publishing and retiring of an organisation's flows. */
  authoring: FlowAuthoring;
  /** The shipped flows organisations copy into their catalog. */
  templates: ReadonlyMap<string, FlowFile>;
  logger: Logger;
  /** Null when no OIDC issuer is configured: then only API keys authenticate. */
  verifyToken: TokenVerifier | null;
  contact: PatientContact;
  /** Base URL of this service as integrators reach it, for links in responses and alerts. */
  publicUrl: string;
  /** Seals bot accounts' credentials; without it the bot-account writes answer 503. */
  secrets?: SecretBox;
  /** Asks a homeserver whom an access token belongs to (bot accounts); without it a token cannot be checked (503). */
  whoami?: Whoami;
}

export interface ApiEnv {
  Variables: {
    principal: Principal;
    deps: ApiDeps;
    clientIp: string;
  };
}
