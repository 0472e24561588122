// The http layer's one error type for the Nacos surfaces, and the mapping of every lower layer's
// error to it (the only place where codes become status codes). A v1 route renders it as Nacos
// 2.x servers do (plain text `caused: <message>;`), a v2 route as a Result
// `{code, message, data}` (NacosApiExceptionHandler).

import { ConsensusError } from '../../consensus/errors.ts';
import { RegistryRejection } from '../../registry/commands.ts';
import { RegistryError } from '../../registry/errors.ts';
import { statusOf } from '../cluster-api.ts';

/** Nacos' v2 ErrorCode values used here (api/.../model/v2/ErrorCode.java). */
export const ErrorCode = {
  SUCCESS: { code: 0, msg: 'success' },
  PARAMETER_MISSING: { code: 10000, msg: 'parameter missing' },
  PARAMETER_VALIDATE_ERROR: { code: 20002, msg: 'parameter validate error' },
  RESOURCE_NOT_FOUND: { code: 20004, msg: 'resource not found' },
  WEIGHT_ERROR: { code: 21001, msg: 'weight error' },
  INSTANCE_ERROR: { code: 21004, msg: 'instance error' },
  SELECTOR_ERROR: { code: 21006, msg: 'selector error' },
  SERVICE_ALREADY_EXIST: { code: 21007, msg: 'service already exist' },
  SERVICE_NOT_EXIST: { code: 21008, msg: 'service not exist' },
  SERVICE_DELETE_FAILURE: { code: 21009, msg: 'service delete failure' },
  SERVER_ERROR: { code: 30000, msg: 'server error' },
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: ErrorCode,
    message: string,
    /** Where a v1 route answers another status (Nacos ≤2.3 renders NacosRuntimeException as 500). */
    readonly v1Status?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A missing or bad parameter (Nacos: IllegalArgumentException → 400). */
export function badParam(message: string, code: ErrorCode = ErrorCode.PARAMETER_VALIDATE_ERROR): ApiError {
  return new ApiError(400, code, message);
}

/** Maps any error thrown below the http layer to an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof RegistryError) {
    switch (e.code) {
      case RegistryRejection.SERVICE_EXISTS:
        return new ApiError(400, ErrorCode.SERVICE_ALREADY_EXIST, e.message);
      case RegistryRejection.SERVICE_NOT_FOUND:
        return new ApiError(400, ErrorCode.SERVICE_NOT_EXIST, e.message);
      case RegistryRejection.SERVICE_NOT_EMPTY:
        return new ApiError(400, ErrorCode.SERVICE_DELETE_FAILURE, e.message);
      case RegistryRejection.NO_SERVICE_FOR_INSTANCE:
      case RegistryRejection.INSTANCE_NOT_FOUND:
        return new ApiError(400, ErrorCode.INSTANCE_ERROR, e.message);
      case RegistryRejection.EPHEMERAL_MISMATCH:
        return new ApiError(400, ErrorCode.SERVER_ERROR, e.message, 500);
      case RegistryRejection.HEALTH_CHECK_ACTIVE:
        return new ApiError(400, ErrorCode.SERVER_ERROR, e.message);
      default:
        return new ApiError(500, ErrorCode.SERVER_ERROR, `${e.code}: ${e.message}`);
    }
  }
  if (e instanceof ConsensusError) {
    const status = statusOf(e.code);
    const retry =
      e.code === 'UNKNOWN' || e.code === 'TIMEOUT'
        ? ' The outcome is unknown: the write may or may not have been applied; retrying it with the same request id (header X-Request-Id or RequestId) is safe.'
        : status === 503
          ? ' Not applied; retry.'
          : '';
    return new ApiError(status, ErrorCode.SERVER_ERROR, `${e.code}: ${e.message}.${retry}`);
  }
  const status = (e as { status?: unknown }).status;
  const type = (e as { type?: unknown }).type;
  // body-parser errors (too large, malformed encoding)
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError(status, ErrorCode.PARAMETER_VALIDATE_ERROR, type === 'entity.too.large' ? 'request body too large' : `bad request body: ${(e as Error).message}`);
  }
  return new ApiError(500, ErrorCode.SERVER_ERROR, (e as Error)?.message ?? String(e));
}
