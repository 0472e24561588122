// The consensus layer's one error type. Codes are stable; only the http layer maps them to status.

export const ConsensusErrorCode = {
  /** This node is not the leader; `leader` names the one it knows (or null). */
  NOT_LEADER: 'NOT_LEADER',
  /** The proposal was never appended (e.g. a leadership transfer is in progress). */
  DROPPED: 'DROPPED',
  /** A different entry was applied at the proposal's index: it will never commit. */
  SUPERSEDED: 'SUPERSEDED',
  /** Leadership was lost with the entry appended but not known committed; it may still commit. */
  UNKNOWN: 'UNKNOWN',
  /** No outcome within the caller's deadline; the entry may still commit. */
  TIMEOUT: 'TIMEOUT',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** The leader has not yet committed an entry of its term (reads, membership changes). */
  NOT_READY: 'NOT_READY',
  /** A configuration entry is already in the log above the applied index. */
  CONF_PENDING: 'CONF_PENDING',
  /** The learner is not within the catch-up margin of the leader's last index. */
  NOT_CAUGHT_UP: 'NOT_CAUGHT_UP',
  /** Promotion abandoned: the learner did not converge within the allowed election timeouts. */
  PROMOTION_TIMEOUT: 'PROMOTION_TIMEOUT',
  /** A leadership transfer started instead (e.g. to remove the leader); retry at the new leader. */
  TRANSFERRING: 'TRANSFERRING',
  /** The request itself is wrong (unknown node, already a member, ...). */
  INVALID: 'INVALID',
} as const;
export type ConsensusErrorCode = (typeof ConsensusErrorCode)[keyof typeof ConsensusErrorCode];

export class ConsensusError extends Error {
  readonly code: ConsensusErrorCode;
  readonly leader: string | null | undefined;
  constructor(code: ConsensusErrorCode, message: string, opts: { leader?: string | null; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ConsensusError';
    this.code = code;
    this.leader = opts.leader;
  }
}

/** The node is stopping: nothing of the request reached the core. */
export function shuttingDown(): ConsensusError {
  return new ConsensusError('SHUTTING_DOWN', 'the node is stopping');
}

/** A ConsensusError as is; anything else thrown by the core is an INVALID request. */
export function asConsensusError(e: unknown): ConsensusError {
  if (e instanceof ConsensusError) return e;
  return new ConsensusError('INVALID', (e as Error).message ?? String(e), { cause: e });
}
