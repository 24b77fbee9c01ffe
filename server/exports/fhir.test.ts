import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SRS, SRS_ITEM_IDS } from '../../shared/instruments.ts';
import type { Result } from '../../shared/protocol.ts';
import { bandOf } from '../../shared/scoring.ts';
import { fhirIdOf, resultsToFhirBundle, srsQuestionnaire, TOTAL_LINK_ID } from './fhir.ts';

/**
 * The official FHIR R4 JSON schema (fhir.schema.json 4.0) run by ajv, offline. It checks structure,
 * primitive datatypes, unknown elements and code enums. The official schema does not check minimum
 * cardinalities (a missing linkId passes) or that a complex element is an object, nor FHIRPath
 * invariants or terminology; `requiredElements` below checks the cardinalities we rely on.
 */
interface SchemaError {
  readonly dataPath?: string;
  readonly message?: string;
}
type ValidatorClass = new () => { validate(resource: unknown, verbose?: boolean): SchemaError[] };
const JSONSchemaValidator = createRequire(import.meta.url)('@asymmetrik/fhir-json-schema-validator') as ValidatorClass;
const validator = new JSONSchemaValidator();
const validate = (resource: unknown): SchemaError[] => validator.validate(JSON.parse(JSON.stringify(resource)));

/** The 1..1 elements the schema leaves unchecked, for the resources we write. */
function requiredElements(resource: unknown): string[] {
  const missing: string[] = [];
  const r = resource as Record<string, unknown>;
  const need = (object: Record<string, unknown>, key: string, where: string): void => {
    if (object[key] === undefined) missing.push(`${where}.${key}`);
  };
  const walkItems = (items: unknown, where: string, answered: boolean): void => {
    for (const item of (items ?? []) as Record<string, unknown>[]) {
      need(item, 'linkId', where);
      if (!answered) need(item, 'type', where);
      walkItems(item['item'], `${where}.item`, answered);
    }
  };
  if (r['resourceType'] === 'Bundle') {
    need(r, 'type', 'Bundle');
    for (const entry of (r['entry'] ?? []) as Record<string, unknown>[]) missing.push(...requiredElements(entry['resource']));
  } else {
    need(r, 'status', String(r['resourceType']));
    walkItems(r['item'], `${String(r['resourceType'])}.item`, r['resourceType'] === 'QuestionnaireResponse');
  }
  return missing;
}

const BASE = 'https://srs.example.org';
const CLIENT_REF = 'client-4711';

function result(marks: readonly number[], overrides: Partial<Result> = {}): Result {
  const items = SRS_ITEM_IDS.map((id, index) => ({ id, mm: marks[index] ?? 0 }));
  const totalMm = items.reduce((sum, item) => sum + item.mm, 0);
  return {
    sessionId: 'sess-1',
    submissionId: 'sub_0001-abcd',
    instrument: 'srs',
    items,
    totalMm,
    band: bandOf(totalMm),
    flagged: [],
    enteredBy: 'client',
    submittedAt: '2025-03-01T10:00:00.000Z',
    ...overrides,
  };
}

const sample = [
  result([73, 90, 100, 0]),
  result([95, 96, 97, 98], { submissionId: 'sub-0002-efgh', sessionId: 'sess-2', enteredBy: 'therapist', submittedAt: '2025-03-08T10:00:00Z' }),
];

describe('validator', () => {
  const good = resultsToFhirBundle(sample, { baseUrl: BASE, clientRef: CLIENT_REF }).entry[0]?.resource;

  it('accepts a valid QuestionnaireResponse', () => {
    expect(validate(good)).toEqual([]);
    expect(requiredElements(good)).toEqual([]);
  });

  it('rejects broken QuestionnaireResponses, so a pass means something', () => {
    expect(validate({ ...good, status: 'done' })).not.toEqual([]);
    expect(validate({ ...good, item: [{ linkId: 'relationship', answer: [{ valueDecimal: '7.3' }] }] })).not.toEqual([]);
    expect(validate({ ...good, authored: '1 March 2025' })).not.toEqual([]);
    expect(validate({ ...good, subject: { value: CLIENT_REF } })).not.toEqual([]); // not an element of Reference
    expect(validate({ ...good, resourceType: 'QuestionaireResponse' })).not.toEqual([]);
    expect(validate({ ...good, score: 7 })).not.toEqual([]); // no such element
    expect(requiredElements({ ...good, item: [{ answer: [{ valueDecimal: 7.3 }] }] })).toEqual(['QuestionnaireResponse.item.linkId']);
  });

  it('rejects a Bundle that carries a broken entry', () => {
    const bundle = resultsToFhirBundle(sample, { baseUrl: BASE, clientRef: CLIENT_REF });
    expect(validate({ ...bundle, entry: [{ fullUrl: 'x', resource: { ...good, status: 'done' } }] })).not.toEqual([]);
    expect(validate({ ...bundle, type: 'pile' })).not.toEqual([]);
  });
});

describe('srsQuestionnaire', () => {
  const questionnaire = srsQuestionnaire(`${BASE}/`);

  it('is a valid R4 Questionnaire', () => {
    expect(validate(questionnaire)).toEqual([]);
    expect(requiredElements(questionnaire)).toEqual([]);
  });

  it('names the instrument, its attribution and its canonical URL', () => {
    expect(questionnaire).toMatchObject({ id: 'srs', url: `${BASE}/fhir/Questionnaire/srs`, status: 'active', title: SRS.name, copyright: SRS.attribution });
  });

  it('has one required slider item per SRS line, 0–10 cm with one decimal, anchored at both ends', () => {
    const lines = questionnaire.item.filter((item) => item.linkId !== TOTAL_LINK_ID);
    expect(lines.map((item) => item.linkId)).toEqual([...SRS_ITEM_IDS]);
    SRS.items.forEach((srsItem, index) => {
      const item = lines[index];
      expect(item).toMatchObject({ text: srsItem.label, type: 'decimal', required: true });
      const ext = new Map(item?.extension?.map((extension) => [extension.url, extension]));
      expect(ext.get('http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl')?.valueCodeableConcept?.coding[0]).toEqual({
        system: 'http://hl7.org/fhir/questionnaire-item-control',
        code: 'slider',
      });
      expect(ext.get('http://hl7.org/fhir/StructureDefinition/minValue')?.valueDecimal).toBe(0);
      expect(ext.get('http://hl7.org/fhir/StructureDefinition/maxValue')?.valueDecimal).toBe(10);
      expect(ext.get('http://hl7.org/fhir/StructureDefinition/maxDecimalPlaces')?.valueInteger).toBe(1);
      expect(item?.item?.map((child) => child.text)).toEqual([srsItem.leftAnchor, srsItem.rightAnchor]);
    });
  });
});

describe('resultsToFhirBundle', () => {
  const bundle = resultsToFhirBundle(sample, { baseUrl: BASE, clientRef: CLIENT_REF, timestamp: '2025-03-09T00:00:00Z' });

  it('is a valid R4 Bundle, and each QuestionnaireResponse is valid on its own', () => {
    expect(validate(bundle)).toEqual([]);
    expect(requiredElements(bundle)).toEqual([]);
    for (const entry of bundle.entry) expect(validate(entry.resource)).toEqual([]);
  });

  it('has one completed response per result, pointing at the SRS Questionnaire and the pseudonymous client', () => {
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(bundle.entry).toHaveLength(sample.length);
    bundle.entry.forEach((entry, index) => {
      const source = sample[index];
      expect(entry.resource).toMatchObject({
        id: fhirIdOf(source?.submissionId ?? ''),
        status: 'completed',
        authored: source?.submittedAt,
        questionnaire: `${BASE}/fhir/Questionnaire/srs`,
        subject: { identifier: { system: `${BASE}/client-ref`, value: CLIENT_REF } },
      });
      expect(entry.fullUrl).toBe(`${BASE}/fhir/QuestionnaireResponse/${entry.resource.id}`);
    });
    expect(bundle.entry[0]?.resource.id).toBe('sub.0001-abcd');
  });

  it('records who entered the answers', () => {
    expect(bundle.entry[0]?.resource.author.identifier?.value).toBe(CLIENT_REF);
    expect(bundle.entry[1]?.resource.author.type).toBe('Practitioner');
  });

  it('answers every item with exactly the stored mm / 10, for every possible mark', () => {
    const mm = fc.integer({ min: 0, max: 100 });
    fc.assert(
      fc.property(fc.tuple(mm, mm, mm, mm), (marks) => {
        const source = result(marks);
        const [entry] = resultsToFhirBundle([source], { baseUrl: BASE, clientRef: CLIENT_REF }).entry;
        // Through JSON, as a receiver sees it.
        const items = (JSON.parse(JSON.stringify(entry?.resource)) as { item: { linkId: string; answer: { valueDecimal: number }[] }[] }).item;
        const answers = new Map(items.map((item) => [item.linkId, item.answer[0]?.valueDecimal]));
        for (const item of source.items) {
          expect(answers.get(item.id)).toBe(item.mm / 10);
          expect(Math.round((answers.get(item.id) ?? NaN) * 10)).toBe(item.mm);
        }
        expect(answers.get(TOTAL_LINK_ID)).toBe(source.totalMm / 10);
      }),
    );
  });

  it('is a valid, empty collection for no results', () => {
    const empty = resultsToFhirBundle([], { baseUrl: BASE, clientRef: CLIENT_REF });
    expect(empty.entry).toEqual([]);
    expect(validate(empty)).toEqual([]);
  });
});
