/**
 * The live protocol, version 1: Socket.IO namespace `/srs`, handshake `auth: {token, protocol}`.
 * Event maps and payload types are shared by the server and the widget. The runtime schemas that
 * these types are inferred from live in schemas.ts.
 */
import type { z } from 'zod';
import type * as schemas from './schemas.ts';

export const PROTOCOL_VERSION = 1 as const;
export const NAMESPACE = '/srs' as const;

export const ROLES = ['client', 'therapist'] as const;
export type Role = (typeof ROLES)[number];

export const SESSION_STATUSES = ['waiting', 'open', 'submitted', 'closed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Whether the therapist sees the client's marks as they are made, or only once submitted. */
export const VISIBILITY_MODES = ['live', 'on-submit'] as const;
export type Visibility = (typeof VISIBILITY_MODES)[number];

export const ENTERED_BY = ['client', 'therapist'] as const;
export type EnteredBy = (typeof ENTERED_BY)[number];

/** Why a request was refused. Sent as `error.code` in acks and handshake errors. */
export const ERROR_CODES = {
  invalidPayload: 'INVALID_PAYLOAD',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  protocolMismatch: 'PROTOCOL_MISMATCH',
  notFound: 'NOT_FOUND',
  sessionClosed: 'SESSION_CLOSED',
  notOpen: 'RATING_NOT_OPEN',
  alreadySubmitted: 'ALREADY_SUBMITTED',
  rateLimited: 'RATE_LIMITED',
  /** A handshake over the cap of sockets a session allows for the role. */
  tooManyConnections: 'TOO_MANY_CONNECTIONS',
  unknownEvent: 'UNKNOWN_EVENT',
  internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface ProtocolError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Ack<T = object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

export type HandshakeAuth = z.infer<typeof schemas.HandshakeAuthSchema>;
export type MarkMove = z.infer<typeof schemas.MarkMoveSchema>;
export type RatingSubmit = z.infer<typeof schemas.RatingSubmitSchema>;
export type Result = z.infer<typeof schemas.ResultSchema>;
export type Presence = z.infer<typeof schemas.PresenceSchema>;
export type SessionState = z.infer<typeof schemas.SessionStateSchema>;
export type CreateSessionBody = z.input<typeof schemas.CreateSessionBodySchema>;

export type VisibilityChange = z.infer<typeof schemas.VisibilityChangeSchema>;
export type RatingActivity = z.infer<typeof schemas.RatingActivitySchema>;

export type SubmitAck = Ack<{ result: Result }>;
export type HistoryAck = Ack<{ results: Result[] }>;
export type EmptyAck = Ack;

export interface ClientToServerEvents {
  /** Volatile: the position of a line while the client drags it. */
  'mark:move': (payload: MarkMove) => void;
  /** Acknowledged and retried with the same submissionId until acknowledged. */
  'rating:submit': (payload: RatingSubmit, ack: (response: SubmitAck) => void) => void;
  /** Therapist only: opens the form on the client's side. */
  'rating:start': (payload: Record<string, never>, ack: (response: EmptyAck) => void) => void;
  /** Therapist only: withdraws the form. */
  'rating:withdraw': (payload: Record<string, never>, ack: (response: EmptyAck) => void) => void;
  /** Client only: show the marks live (default) or only once submitted. */
  'rating:visibility': (payload: VisibilityChange, ack: (response: EmptyAck) => void) => void;
  /** Therapist only: this client's stored results, oldest first (for the trend). */
  'history:read': (payload: Record<string, never>, ack: (response: HistoryAck) => void) => void;
}

export interface ServerToClientEvents {
  'session:state': (state: SessionState) => void;
  'mark:moved': (payload: MarkMove) => void;
  'rating:submitted': (payload: { result: Result }) => void;
  presence: (presence: Presence) => void;
  /** To the therapist while the client rates privately: how many lines are marked, never the values. */
  'rating:activity': (activity: RatingActivity) => void;
  /** A refused event that had no ack to answer through. */
  'srs:error': (error: ProtocolError) => void;
  /** To a client socket that a newer one of the same session took over, just before it is disconnected. */
  'session:replaced': (payload: { reason: string }) => void;
  /** To the therapist: the client's link was opened on another device or tab, which took over. */
  'client:switched': (payload: { at: string }) => void;
  /**
   * This node is shutting down: reconnect (through the load balancer, to another node). The node
   * closes the transport itself once its requests in flight are answered; a request left without
   * an answer is retried on the next connection.
   */
  'server:draining': (payload: { reason: string }) => void;
}

export interface SocketData {
  sessionId: string;
  role: Role;
  /** Token expiry, seconds since the epoch. */
  exp: number;
}

/** Payload of a signed join token. */
export interface JoinClaims {
  readonly sid: string;
  readonly role: Role;
  readonly exp: number;
}

export interface CreateSessionResponse {
  readonly sessionId: string;
  readonly client: { readonly token: string; readonly url: string };
  readonly therapist: { readonly token: string; readonly url: string };
}
