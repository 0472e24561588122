// What the Nacos routers need from the node, and the plumbing they share: request ids,
// consistency, and rendering an error as a v1 or a v2 route does.

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { HealthService } from '../../registry/health/health-service.ts';
import { Registry } from '../../registry/registry.ts';
import { ApiError, ErrorCode, toApiError } from './api-error.ts';
import { checkLimits, paramsOf, type Params } from './params.ts';

export interface NacosDeps {
  registry: Registry;
  health: HealthService;
  /** Members of the cluster for operator/servers: id, host:httpPort, and whether it is up. */
  members(): { id: string; ip: string; port: number; leader: boolean; alive: boolean }[];
  /** Counters the operator metrics report. */
  metrics(): { leader: string | null; role: string; term: number; applied: number };
  /** UDP push targets (from /instance/list with udpPort > 0); absent when push is off. */
  push?: { subscribe(ns: string, grouped: string, clusters: string, clientIP: string, udpPort: number): void; readonly targetCount: number };
  /** Watchers connected here, for subscribeCount. */
  watchers?(): number;
  logger: { warn(o: object, m?: string): void; error(o: object, m?: string): void };
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The client's request id (X-Request-Id, or the RequestId header the Nacos clients send), or a
 * new one. Refuses an id that is not 1–128 visible ASCII characters. */
export function requestIdOf(req: Request): string {
  const v = req.get('x-request-id') ?? req.get('requestid');
  if (v === undefined || v === '') return Registry.requestId();
  if (!REQUEST_ID.test(v)) throw new ApiError(400, ErrorCode.PARAMETER_VALIDATE_ERROR, 'request id (header X-Request-Id or RequestId) must be 1-128 visible ASCII characters');
  return v;
}

/** `consistency=linearizable` (query or form) or header X-Muster-Consistency. */
export function linearizable(req: Request, p: Record<string, string>): boolean {
  const v = p.consistency ?? req.get('x-muster-consistency');
  if (v === undefined || v === '' || v === 'default' || v === 'local') return false;
  if (v === 'linearizable') return true;
  throw new ApiError(400, ErrorCode.PARAMETER_VALIDATE_ERROR, `consistency must be "linearizable" or "local", got ${JSON.stringify(v)}`);
}

export function sendV1Error(res: Response, e: ApiError): void {
  res.status(e.v1Status ?? e.status).type('text/plain; charset=utf-8').send(`caused: ${e.message};`);
}

export function sendV2Error(res: Response, e: ApiError): void {
  // NacosApiExceptionHandler: {code: detail code, message: its abstract, data: the text}.
  res.status(e.status).json({ code: e.errorCode.code, message: e.errorCode.msg, data: e.message });
}

type Handler = (req: Request, res: Response) => unknown;

/** Wraps a handler (sync or async): any error is mapped and rendered as v1 or v2 renders it. */
export function route(version: 'v1' | 'v2', h: Handler, log?: NacosDeps['logger']): RequestHandler {
  return (req: Request, res: Response, _next: NextFunction) => {
    const fail = (e: unknown) => {
      const err = toApiError(e);
      if (err.status >= 500) log?.warn({ path: req.path, method: req.method, err: err.message }, 'request failed');
      if (res.headersSent) return;
      if (version === 'v1') sendV1Error(res, err);
      else sendV2Error(res, err);
    };
    try {
      const r = h(req, res);
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).catch(fail);
    } catch (e) {
      fail(e);
    }
  };
}

/** A route whose handler gets the request's parameters (paramsOf), checked against Nacos'
 * limits (checkLimits) first. */
export function paramRoute(version: 'v1' | 'v2', h: (p: Params, req: Request, res: Response) => unknown, log?: NacosDeps['logger']): RequestHandler {
  return route(
    version,
    (req, res) => {
      const p = paramsOf(req);
      checkLimits(p);
      return h(p, req, res);
    },
    log,
  );
}

/** v2 success body. */
export function ok2(res: Response, data: unknown): void {
  res.json({ code: ErrorCode.SUCCESS.code, message: ErrorCode.SUCCESS.msg, data });
}
