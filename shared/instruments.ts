/**
 * Instrument definitions: the wording of a measure is data, so a licensee can supply their own
 * text or translation without touching the components.
 */

export interface InstrumentItem {
  /** Stable id used on the wire and in storage. */
  readonly id: string;
  readonly label: string;
  /** Negative anchor, shown at the left end of the line. */
  readonly leftAnchor: string;
  /** Positive anchor, shown at the right end of the line. */
  readonly rightAnchor: string;
  /** A question the therapist can use to open the conversation when this item is low. */
  readonly discussionPrompt: string;
}

export interface Instrument {
  readonly id: string;
  readonly name: string;
  readonly instruction: string;
  /** What the therapist can say when introducing the measure. */
  readonly introScript: string;
  readonly items: readonly InstrumentItem[];
  readonly attribution: string;
}

export const SRS_ITEM_IDS = ['relationship', 'goals', 'approach', 'overall'] as const;
export type ItemId = (typeof SRS_ITEM_IDS)[number];

export const INSTRUMENT_IDS = ['srs'] as const;
export type InstrumentId = (typeof INSTRUMENT_IDS)[number];

/** The adult Session Rating Scale (ages 13+), English wording. */
export const SRS = {
  id: 'srs',
  name: 'Session Rating Scale',
  instruction: "Please rate today's session by placing a mark on the line nearest to the description that best fits your experience.",
  introScript:
    "Before we finish, I'd like to take the temperature of our relationship today. Are we too hot or too cold? " +
    'Do I need to adjust the thermostat? Please mark each line on your screen. There are no right answers, ' +
    'and a low mark helps me more than a polite one.',
  items: [
    {
      id: 'relationship',
      label: 'Relationship',
      leftAnchor: 'I did not feel heard, understood, and respected.',
      rightAnchor: 'I felt heard, understood, and respected.',
      discussionPrompt: 'Was there a moment today when you did not feel heard or understood?',
    },
    {
      id: 'goals',
      label: 'Goals and Topics',
      leftAnchor: 'We did not work on or talk about what I wanted to work on and talk about.',
      rightAnchor: 'We worked on and talked about what I wanted to work on and talk about.',
      discussionPrompt: 'What did we not get to today that mattered to you?',
    },
    {
      id: 'approach',
      label: 'Approach or Method',
      leftAnchor: "The therapist's approach is not a good fit for me.",
      rightAnchor: "The therapist's approach is a good fit for me.",
      discussionPrompt: 'What could I do differently in how we work together?',
    },
    {
      id: 'overall',
      label: 'Overall',
      leftAnchor: 'There was something missing in the session today.',
      rightAnchor: "Overall, today's session was right for me.",
      discussionPrompt: 'What was missing today, and what would make next time more right for you?',
    },
  ],
  attribution:
    'Session Rating Scale (SRS) © 2002 Scott D. Miller, Barry L. Duncan & Lynn Johnson. ' +
    'Free for individual practitioners; groups and agencies need a licence from the authors.',
} as const satisfies Instrument & { readonly id: InstrumentId; readonly items: readonly (InstrumentItem & { readonly id: ItemId })[] };

export type SrsInstrument = typeof SRS;

export const INSTRUMENTS: Readonly<Record<InstrumentId, Instrument>> = { srs: SRS };

export function instrumentOf(id: InstrumentId): Instrument {
  return INSTRUMENTS[id];
}
