/**
 * fast-check arbitraries for fuzzing srs-live from the outside: anything at all, and values aimed
 * at the edges of each schema (wrong types, NaN, negative, > 100, floats, numeric strings,
 * prototype keys, sizes around the 4 KB message limit, other sessions' ids), plus a model of what
 * the server receives for what socket.io-client sends, so a test can say what the answer must be.
 */
import fc from 'fast-check';
import { SRS_ITEM_IDS } from '../shared/instruments.ts';
import { ROLES, type Role } from '../shared/protocol.ts';

export const KNOWN_EVENTS = ['mark:move', 'rating:submit', 'rating:start', 'rating:withdraw', 'rating:visibility', 'history:read'] as const;
export type KnownEvent = (typeof KNOWN_EVENTS)[number];

/** socket.io-client refuses to emit these, so they cannot reach the server through it. */
const CLIENT_RESERVED: ReadonlySet<string> = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Keys that a careless handler might trust or that walk up the prototype chain. */
export const trickyKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    ...PROTO_KEYS,
    'toString',
    'valueOf',
    'hasOwnProperty',
    'item',
    'mm',
    'marks',
    'submissionId',
    'sessionId',
    'totalMm',
    'band',
    'result',
    'enteredBy',
    'role',
    'visibility',
    'status',
  ),
);

/** Anything JSON or socket.io can carry, including binary, null prototypes and prototype keys. */
export const anyValue: fc.Arbitrary<unknown> = fc.anything({
  key: trickyKey,
  maxDepth: 3,
  maxKeys: 6,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

/** `base` with one to three extra own keys (set as own properties even when named `__proto__`). */
export function withExtraKeys(base: fc.Arbitrary<Record<string, unknown>>, value: fc.Arbitrary<unknown> = anyValue): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(base, fc.array(fc.tuple(trickyKey, value), { minLength: 1, maxLength: 3 })).map(([object, extras]) => {
    const copy: Record<string, unknown> = { ...object };
    for (const [key, extra] of extras) Object.defineProperty(copy, key, { value: extra, enumerable: true, writable: true, configurable: true });
    return copy;
  });
}

/** A string of about `bytes` UTF-8 bytes, in one-, two- or four-byte characters. */
function stringOfBytes(bytes: fc.Arbitrary<number>): fc.Arbitrary<string> {
  return fc.tuple(bytes, fc.constantFrom('x', 'é', '😀')).map(([size, unit]) => unit.repeat(Math.max(1, Math.floor(size / Buffer.byteLength(unit)))));
}

/** Strings and arrays just under, at and over the 4 KB message limit, and far over it. */
export const huge: fc.Arbitrary<unknown> = fc.oneof(
  stringOfBytes(fc.integer({ min: 3900, max: 4200 })),
  stringOfBytes(fc.integer({ min: 4200, max: 20_000 })),
  fc.integer({ min: 1900, max: 2100 }).map((length) => Array.from({ length }, () => 0)),
  fc.integer({ min: 100, max: 400 }).map((length) => Array.from({ length }, () => ({ item: 'goals', mm: 50 }))),
);

export const validMm = fc.integer({ min: 0, max: 100 });
export const invalidMm: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ max: -1 }),
  fc.integer({ min: 101 }),
  fc.double({ noInteger: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5, 99.99, 100.000001, 2 ** 53, -(2 ** 31), 1e308),
  fc.constantFrom('50', '', ' 5', '0x10', '1e1', true, false, null, [], [50], {}, { valueOf: 5 }),
  fc.string({ maxLength: 5 }),
);
export const mmValue: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: validMm }, { weight: 2, arbitrary: invalidMm });

export const itemValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SRS_ITEM_IDS) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('Goals', 'goals ', 'total', 'mood', '', ...PROTO_KEYS, 0, null)) },
);

export const markMovePayload: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ item: itemValue, mm: mmValue }) },
  { weight: 1, arbitrary: fc.record({ item: itemValue, mm: mmValue }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: withExtraKeys(fc.record({ item: itemValue, mm: mmValue })) },
  { weight: 1, arbitrary: fc.record({ item: itemValue, mm: mmValue, pad: huge }) },
  { weight: 1, arbitrary: fc.oneof(fc.tuple(itemValue, mmValue), fc.constantFrom(null, undefined, [], 'goals', 5, true)) },
);

export function submissionIdValue(reused: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/) },
    // Replays of this session's submissions and other sessions' ids.
    { weight: 3, arbitrary: fc.constantFrom(...reused) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.string({ maxLength: 10 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{0,7}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{65,80}$/),
        fc.constantFrom('__proto__', 'constructor', 'sub 0000001', 'sub/000001', 'süb-000001', 'sub-0000001\n', null, 12_345_678, ['sub-0000001']),
      ),
    },
  );
}

export function marksValue(): fc.Arbitrary<unknown> {
  const complete = fc.record({ relationship: mmValue, goals: mmValue, approach: mmValue, overall: mmValue });
  const allValid = fc.record({ relationship: validMm, goals: validMm, approach: validMm, overall: validMm });
  return fc.oneof(
    { weight: 4, arbitrary: allValid },
    { weight: 3, arbitrary: complete },
    { weight: 1, arbitrary: fc.record({ relationship: mmValue, goals: mmValue, approach: mmValue, overall: mmValue }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: withExtraKeys(allValid) },
    { weight: 1, arbitrary: fc.oneof(fc.array(validMm, { maxLength: 5 }), fc.constantFrom(null, 'all good', 400, {})) },
  );
}

/** rating:submit payloads; `reused` are submission ids this run has seen (and other sessions'). */
export function submitPayload(reused: readonly string[], sessionIds: readonly string[]): fc.Arbitrary<unknown> {
  const base = fc.record({ submissionId: submissionIdValue(reused), marks: marksValue() });
  return fc.oneof(
    { weight: 6, arbitrary: base },
    { weight: 1, arbitrary: fc.record({ submissionId: submissionIdValue(reused), marks: marksValue() }, { requiredKeys: [] }) },
    { weight: 2, arbitrary: withExtraKeys(base) },
    // Trying to choose the session, the role or the score.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          base,
          fc.record({ sessionId: fc.constantFrom(...sessionIds), enteredBy: fc.constantFrom(...ROLES), totalMm: fc.integer() }, { requiredKeys: [] }),
        )
        .map(([payload, extra]) => ({ ...payload, ...extra })),
    },
    { weight: 1, arbitrary: fc.record({ submissionId: submissionIdValue(reused), marks: marksValue(), pad: huge }) },
  );
}

export function emptyPayload(sessionIds: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant({}) },
    { weight: 2, arbitrary: withExtraKeys(fc.constant({})) },
    { weight: 1, arbitrary: fc.record({ sessionId: fc.constantFrom(...sessionIds) }) },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, [], '', 0, false, { force: true }) },
    { weight: 1, arbitrary: fc.record({ pad: huge }) },
  );
}

export const visibilityPayload: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ visibility: fc.constantFrom('live', 'on-submit') }) },
  { weight: 2, arbitrary: fc.record({ visibility: fc.oneof(fc.constantFrom('LIVE', 'hidden', '', null, true), fc.string({ maxLength: 10 })) }) },
  { weight: 1, arbitrary: withExtraKeys(fc.record({ visibility: fc.constantFrom('live', 'on-submit') })) },
  { weight: 1, arbitrary: fc.constantFrom(null, 'live', {}, []) },
);

/** Event names that no handler knows, including ones that mean something elsewhere. */
export const unknownEvent: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      'session:state',
      'mark:moved',
      'rating:submitted',
      'presence',
      'srs:error',
      'error',
      'results:read',
      'rating:delete',
      'Mark:Move',
      'mark:move ',
      ...PROTO_KEYS,
      'toString',
      'hasOwnProperty',
    ),
    stringOfBytes(fc.integer({ min: 3900, max: 5000 })),
  )
  .filter((name) => !CLIENT_RESERVED.has(name) && !(KNOWN_EVENTS as readonly string[]).includes(name));

export type Arity = 'standard' | 'none' | 'extra';

/** One socket emission: who sends it, which event, what arguments, with or without an ack. */
export interface Emission {
  readonly role: Role;
  readonly event: string;
  readonly payload: unknown;
  /** `standard` is (payload[, ack]); `none` sends no payload; `extra` adds a second argument. */
  readonly arity: Arity;
  readonly extra: unknown;
  readonly ack: boolean;
}

const arity: fc.Arbitrary<Arity> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('standard' as const) },
  { weight: 1, arbitrary: fc.constantFrom('none' as const, 'extra' as const) },
);

function emission(event: fc.Arbitrary<string>, payload: fc.Arbitrary<unknown>): fc.Arbitrary<Emission> {
  return fc.record({ role: fc.constantFrom(...ROLES), event, payload, arity, extra: anyValue, ack: fc.boolean() });
}

/** Arbitrary payloads on every event, known or not. */
export function anythingEmission(): fc.Arbitrary<Emission> {
  return emission(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KNOWN_EVENTS) }, { weight: 1, arbitrary: unknownEvent }), anyValue);
}

/** Payloads aimed at each event's schema. */
export function targetedEmission(reused: readonly string[], sessionIds: readonly string[]): fc.Arbitrary<Emission> {
  return fc.oneof(
    { weight: 4, arbitrary: emission(fc.constant('mark:move'), markMovePayload) },
    { weight: 4, arbitrary: emission(fc.constant('rating:submit'), submitPayload(reused, sessionIds)) },
    { weight: 2, arbitrary: emission(fc.constantFrom('rating:start', 'rating:withdraw', 'history:read'), emptyPayload(sessionIds)) },
    { weight: 1, arbitrary: emission(fc.constant('rating:visibility'), visibilityPayload) },
    { weight: 1, arbitrary: emission(unknownEvent, fc.oneof(anyValue, markMovePayload)) },
  );
}

// What the server receives: socket.io-client sends JSON, unless an argument holds binary; then
// each binary part travels as its own frame and arrives as a Buffer (socket.io-parser's
// deconstructPacket/reconstructPacket, mirrored here).

function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function hasToJson(value: object): value is { toJSON(): unknown } {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function hasBinary(value: unknown, viaToJson = false): boolean {
  if (!value || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((element) => hasBinary(element));
  if (isBinary(value)) return true;
  if (!viaToJson && hasToJson(value)) return hasBinary(value.toJSON(), true);
  for (const key in value) if (Object.hasOwn(value, key) && hasBinary((value as Record<string, unknown>)[key])) return true;
  return false;
}

function deconstruct(value: unknown, buffers: Buffer[], viaToJson = false): unknown {
  if (!value) return value;
  if (isBinary(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    buffers.push(Buffer.from(bytes));
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(value)) return Array.from({ length: value.length }, (_, i) => deconstruct(value[i], buffers));
  if (typeof value === 'object' && !(value instanceof Date)) {
    if (!viaToJson && hasToJson(value)) return deconstruct(value.toJSON(), buffers, true);
    // Plain assignment, as the library does: an own "__proto__" key sets the prototype and is lost.
    const copy: Record<string, unknown> = {};
    for (const key in value) if (Object.hasOwn(value, key)) copy[key] = deconstruct((value as Record<string, unknown>)[key], buffers);
    return copy;
  }
  return value;
}

class IllegalAttachments extends Error {}

function reconstruct(value: unknown, buffers: readonly Buffer[]): unknown {
  if (!value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((element) => reconstruct(element, buffers));
  const record = value as Record<string, unknown>;
  if (record['_placeholder'] === true) {
    const num = record['num'];
    if (typeof num === 'number' && num >= 0 && num < buffers.length) return buffers[num];
    throw new IllegalAttachments();
  }
  for (const key in record) if (Object.hasOwn(record, key)) record[key] = reconstruct(record[key], buffers);
  return record;
}

export interface Wire {
  /** The arguments as the server's handler gets them (without the ack). */
  readonly args: readonly unknown[];
  /** UTF-8 bytes of the text frame, up to the ack id (which adds a few digits). */
  readonly textBytes: number;
  /** Bytes of each binary frame. */
  readonly binaryBytes: readonly number[];
  /** The server cannot decode the packet (a placeholder lookalike next to real binary). */
  readonly undecodable: boolean;
}

export function onTheWire(event: string, args: readonly unknown[]): Wire {
  const buffers: Buffer[] = [];
  const binary = hasBinary(args);
  const data = binary ? deconstruct([event, ...args], buffers) : [event, ...args];
  const json = JSON.stringify(data);
  // engine.io message type "4", socket.io type "2" (or "5<n>-" with attachments), then "/srs,".
  const header = binary ? `45${buffers.length}-/srs,` : '42/srs,';
  const textBytes = Buffer.byteLength(header) + Buffer.byteLength(json);
  const parsed = JSON.parse(json) as unknown[];
  try {
    const received = binary ? (reconstruct(parsed, buffers) as unknown[]) : parsed;
    return { args: received.slice(1), textBytes, binaryBytes: buffers.map((buffer) => buffer.byteLength), undecodable: false };
  } catch (error) {
    if (!(error instanceof IllegalAttachments)) throw error;
    return { args: [], textBytes, binaryBytes: buffers.map((buffer) => buffer.byteLength), undecodable: true };
  }
}
