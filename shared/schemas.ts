/**
 * Runtime schemas of the live protocol and the platform API. The server parses every payload
 * with these; the TypeScript types in protocol.ts are inferred from them, so a payload's check
 * and its type cannot drift apart. (The widget imports only the types, keeping zod out of the
 * script-tag bundle.)
 */
import { z } from 'zod';
import { INSTRUMENT_IDS, SRS_ITEM_IDS } from './instruments.ts';
import { BANDS, MM_MAX, MM_MIN } from './scoring.ts';
import { ENTERED_BY, PROTOCOL_VERSION, ROLES, SESSION_STATUSES, VISIBILITY_MODES } from './protocol.ts';

export const MmSchema = z.int().min(MM_MIN).max(MM_MAX);
export const ItemIdSchema = z.enum(SRS_ITEM_IDS);
export const InstrumentIdSchema = z.enum(INSTRUMENT_IDS);
export const RoleSchema = z.enum(ROLES);

/** A client-made id for one submission: retries carry the same id, so the store never doubles it. */
export const SubmissionIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'submissionId must be 8–64 letters, digits, - or _');

export const HandshakeAuthSchema = z.object({
  token: z.string().min(1).max(4096),
  protocol: z.literal(PROTOCOL_VERSION),
});

export const MarkMoveSchema = z.strictObject({ item: ItemIdSchema, mm: MmSchema });

export const CompleteMarksSchema = z.strictObject({
  relationship: MmSchema,
  goals: MmSchema,
  approach: MmSchema,
  overall: MmSchema,
});

export const PartialMarksSchema = z.strictObject({
  relationship: MmSchema.nullable(),
  goals: MmSchema.nullable(),
  approach: MmSchema.nullable(),
  overall: MmSchema.nullable(),
});

export const RatingSubmitSchema = z.strictObject({
  submissionId: SubmissionIdSchema,
  marks: CompleteMarksSchema,
});

export const EmptyPayloadSchema = z.strictObject({});

export const ResultSchema = z.strictObject({
  sessionId: z.string(),
  submissionId: SubmissionIdSchema,
  instrument: InstrumentIdSchema,
  items: z.array(z.strictObject({ id: ItemIdSchema, mm: MmSchema })).length(SRS_ITEM_IDS.length),
  totalMm: z
    .int()
    .min(0)
    .max(MM_MAX * SRS_ITEM_IDS.length),
  band: z.enum([BANDS.poor, BANDS.fair, BANDS.good]),
  flagged: z.array(ItemIdSchema),
  enteredBy: z.enum(ENTERED_BY),
  submittedAt: z.iso.datetime(),
});

export const PresenceSchema = z.strictObject({ client: z.boolean(), therapist: z.boolean() });

export const VisibilitySchema = z.enum(VISIBILITY_MODES);
export const VisibilityChangeSchema = z.strictObject({ visibility: VisibilitySchema });
export const RatingActivitySchema = z.strictObject({ marked: z.int().min(0).max(SRS_ITEM_IDS.length) });

export const SessionStateSchema = z.strictObject({
  sessionId: z.string(),
  instrument: InstrumentIdSchema,
  status: z.enum(SESSION_STATUSES),
  /** With `on-submit`, the therapist's copy carries no marks until the result. */
  visibility: VisibilitySchema,
  marks: PartialMarksSchema,
  result: ResultSchema.nullable(),
  presence: PresenceSchema,
});

/** A pseudonymous reference: letters, digits and a few separators; never an e-mail address. */
export const PseudonymousRefSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'must be a pseudonymous id of letters, digits, ".", "_", ":" or "-" (no names, no e-mail)');

export const CreateSessionBodySchema = z.strictObject({
  clientRef: PseudonymousRefSchema,
  therapistRef: PseudonymousRefSchema.optional(),
  instrument: InstrumentIdSchema.default('srs'),
  /** Lifetime of the join tokens, in seconds (1 minute to 7 days). */
  tokenTtlSeconds: z
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .optional(),
});
