/**
 * Results as FHIR R4 (4.0.1): the SRS as a Questionnaire, each stored result as a
 * QuestionnaireResponse, and a client's results as a Bundle of type `collection` (an export, not
 * the answer to a FHIR search, so no `total`: bdl-1 allows it only on searchset and history).
 *
 * Answers are decimals in centimetres (stored mm / 10), the unit a clinician reads. Integer mm
 * divided by 10 is the same double as the one-decimal literal (73 / 10 === 7.3), so no rounding
 * can creep in. JSON has no trailing zeros, so 7.0 cm is written as 7.
 */
import { SRS, SRS_ITEM_IDS } from '../../shared/instruments.ts';
import type { Result } from '../../shared/protocol.ts';
import { MM_MAX } from '../../shared/scoring.ts';

// Minimal shapes of the R4 types used here: enough to type what we write, not a FHIR library.
export interface FhirCoding {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}
export interface FhirExtension {
  readonly url: string;
  readonly valueDecimal?: number;
  readonly valueInteger?: number;
  readonly valueCodeableConcept?: { readonly coding: readonly FhirCoding[]; readonly text?: string };
  readonly valueCoding?: FhirCoding;
}
export interface FhirReference {
  readonly type?: string;
  readonly identifier?: { readonly system: string; readonly value: string };
  readonly display?: string;
}
export interface QuestionnaireItem {
  readonly linkId: string;
  readonly text: string;
  readonly type: 'decimal' | 'display';
  readonly required?: boolean;
  readonly readOnly?: boolean;
  readonly extension?: readonly FhirExtension[];
  readonly item?: readonly QuestionnaireItem[];
}
export interface Questionnaire {
  readonly resourceType: 'Questionnaire';
  readonly id: string;
  readonly url: string;
  readonly name: string;
  readonly title: string;
  readonly status: 'active';
  readonly subjectType: readonly string[];
  readonly description: string;
  readonly copyright: string;
  readonly item: readonly QuestionnaireItem[];
}
export interface QuestionnaireResponseItem {
  readonly linkId: string;
  readonly text: string;
  readonly answer: readonly { readonly valueDecimal: number }[];
}
export interface QuestionnaireResponse {
  readonly resourceType: 'QuestionnaireResponse';
  readonly id: string;
  readonly questionnaire: string;
  readonly status: 'completed';
  readonly subject: FhirReference;
  readonly authored: string;
  readonly author: FhirReference;
  readonly source: FhirReference;
  readonly item: readonly QuestionnaireResponseItem[];
}
export interface Bundle {
  readonly resourceType: 'Bundle';
  readonly type: 'collection';
  readonly timestamp: string;
  readonly entry: readonly { readonly fullUrl: string; readonly resource: QuestionnaireResponse }[];
}

export interface FhirBundleOptions {
  /** The public origin of this server, without a trailing slash, e.g. `https://srs.example.org`. */
  readonly baseUrl: string;
  /** The platform's pseudonymous id of the client whose results these are. */
  readonly clientRef: string;
  /** When the bundle was assembled (ISO 8601); defaults to now. */
  readonly timestamp?: string;
}

const EXT = {
  itemControl: 'http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl',
  minValue: 'http://hl7.org/fhir/StructureDefinition/minValue',
  maxValue: 'http://hl7.org/fhir/StructureDefinition/maxValue',
  maxDecimalPlaces: 'http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces',
  unit: 'http://hl7.org/fhir/StructureDefinition/questionnaire-unit',
} as const;
const ITEM_CONTROL_SYSTEM = 'http://hl7.org/fhir/questionnaire-item-control';
const CM: FhirCoding = { system: 'http://unitsofmeasure.org', code: 'cm', display: 'cm' };

export const TOTAL_LINK_ID = 'total';

function itemControl(code: 'slider' | 'lower' | 'upper'): FhirExtension {
  return { url: EXT.itemControl, valueCodeableConcept: { coding: [{ system: ITEM_CONTROL_SYSTEM, code }] } };
}

/** The canonical URL of the SRS Questionnaire on this server. */
export function srsQuestionnaireUrl(baseUrl: string): string {
  return `${stripSlash(baseUrl)}/fhir/Questionnaire/srs`;
}

/**
 * The SRS as a Questionnaire: four decimal items in cm, 0–10, shown as sliders.
 *
 * The step of 0.1 cm: R4's `questionnaire-sliderStepValue` extension is `valueInteger` only (and
 * the current extension pack restricts it to integer items), so a 0.1 step cannot be written with
 * it, and a step of 1 on a decimal item would be wrong. We say the same thing validly with
 * `maxDecimalPlaces` = 1 (a decimal item's precision, defined for R4 decimal items) alongside
 * minValue 0 / maxValue 10 and the unit cm: a slider over 0–10 with one decimal moves in 0.1 steps.
 *
 * The anchors are nested `display` items with the R4 item-control codes `lower` and `upper`,
 * which is how FHIR (and SDC renderers) label the two ends of a slider.
 */
export function srsQuestionnaire(baseUrl: string): Questionnaire {
  return {
    resourceType: 'Questionnaire',
    id: SRS.id,
    url: srsQuestionnaireUrl(baseUrl),
    name: 'SessionRatingScale',
    title: SRS.name,
    status: 'active',
    subjectType: ['Patient'],
    description: SRS.instruction,
    copyright: SRS.attribution,
    item: [
      ...SRS.items.map(
        (item): QuestionnaireItem => ({
          linkId: item.id,
          text: item.label,
          type: 'decimal',
          required: true,
          extension: [
            itemControl('slider'),
            { url: EXT.minValue, valueDecimal: 0 },
            { url: EXT.maxValue, valueDecimal: MM_MAX / 10 },
            { url: EXT.maxDecimalPlaces, valueInteger: 1 },
            { url: EXT.unit, valueCoding: CM },
          ],
          item: [
            { linkId: `${item.id}.lower`, text: item.leftAnchor, type: 'display', extension: [itemControl('lower')] },
            { linkId: `${item.id}.upper`, text: item.rightAnchor, type: 'display', extension: [itemControl('upper')] },
          ],
        }),
      ),
      {
        // The server computes the total (it never trusts one sent by a client), so it is read-only.
        linkId: TOTAL_LINK_ID,
        text: 'Total',
        type: 'decimal',
        readOnly: true,
        extension: [
          { url: EXT.minValue, valueDecimal: 0 },
          { url: EXT.maxValue, valueDecimal: (MM_MAX * SRS_ITEM_IDS.length) / 10 },
          { url: EXT.maxDecimalPlaces, valueInteger: 1 },
          { url: EXT.unit, valueCoding: CM },
        ],
      },
    ],
  };
}

/**
 * A FHIR id from a submissionId. submissionIds are [A-Za-z0-9_-]{8,64}; FHIR ids are
 * [A-Za-z0-9.-]{1,64}. `.` never occurs in a submissionId, so mapping `_` to `.` is one-to-one.
 */
export function fhirIdOf(submissionId: string): string {
  return submissionId.replaceAll('_', '.');
}

function clientReference(baseUrl: string, clientRef: string): FhirReference {
  return { type: 'Patient', identifier: { system: `${stripSlash(baseUrl)}/client-ref`, value: clientRef } };
}

/**
 * One result as a QuestionnaireResponse. The client answered in either case, so `source` is the
 * client; `author` is who entered the answers: the client on their own device, or the therapist
 * in an oral administration (we hold no therapist identity in a result, so only a display).
 */
export function resultToQuestionnaireResponse(result: Result, options: FhirBundleOptions): QuestionnaireResponse {
  const client = clientReference(options.baseUrl, options.clientRef);
  const mmById = new Map<string, number>(result.items.map((item) => [item.id, item.mm]));
  return {
    resourceType: 'QuestionnaireResponse',
    id: fhirIdOf(result.submissionId),
    questionnaire: srsQuestionnaireUrl(options.baseUrl),
    status: 'completed',
    subject: client,
    authored: result.submittedAt,
    author: result.enteredBy === 'therapist' ? { type: 'Practitioner', display: 'Therapist (oral administration)' } : client,
    source: client,
    item: [
      // In the Questionnaire's order, as FHIR asks of a response.
      ...SRS.items.flatMap((item) => {
        const mm = mmById.get(item.id);
        return mm === undefined ? [] : [{ linkId: item.id, text: item.label, answer: [{ valueDecimal: mm / 10 }] }];
      }),
      { linkId: TOTAL_LINK_ID, text: 'Total', answer: [{ valueDecimal: result.totalMm / 10 }] },
    ],
  };
}

/** A client's results as a Bundle of QuestionnaireResponses, in the order given (oldest first). */
export function resultsToFhirBundle(results: readonly Result[], options: FhirBundleOptions): Bundle {
  const base = stripSlash(options.baseUrl);
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: options.timestamp ?? new Date().toISOString(),
    entry: results.map((result) => {
      const resource = resultToQuestionnaireResponse(result, options);
      // A RESTful fullUrl must end in the resource's id (R4 Bundle.entry.fullUrl), and it does.
      return { fullUrl: `${base}/fhir/QuestionnaireResponse/${resource.id}`, resource };
    }),
  };
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
