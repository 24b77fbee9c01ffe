/**
 * The script-tag bundle: defines `<srs-rating>`, `<srs-vas-line>` and `<srs-therapist>`. The
 * therapist's view is a separate chunk that `<srs-therapist>` imports on first use, so a client's
 * page never downloads it. zod stays out: shared/schemas.ts is imported by the server only.
 */
export { SrsRating } from './srs-rating.ts';
export { SrsTherapist } from './srs-therapist.ts';
export { SrsVasLine } from './vas-line.ts';
export { SrsChangeEvent, SrsErrorEvent, SrsSubmitEvent } from './events.ts';
