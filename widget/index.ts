/**
 * The script-tag bundle: defines `<srs-rating>`, `<srs-therapist>` and `<srs-vas-line>`.
 * zod stays out: shared/schemas.ts is imported by the server only.
 */
export { SrsRating } from './srs-rating.ts';
export { SrsTherapist } from './srs-therapist.ts';
export { SrsVasLine } from './vas-line.ts';
export { SrsChangeEvent, SrsErrorEvent, SrsSubmitEvent } from './events.ts';
