// The Nacos surfaces of the public port: v1 and v2 routers behind one lean body parser
// (application/x-www-form-urlencoded, bounded; nothing else is parsed).

import express, { type Router } from 'express';
import type { NacosDeps } from './context.ts';
import { sendV1Error, sendV2Error } from './context.ts';
import { toApiError } from './api-error.ts';
import { v1InstanceRoutes } from './v1-instance.ts';
import { v1ServiceRoutes } from './v1-service.ts';
import { v2Routes } from './v2.ts';

export function nacosRouter(d: NacosDeps, maxBodyBytes: number): Router {
  const r = express.Router();
  r.use('/nacos', express.urlencoded({ extended: false, limit: maxBodyBytes, parameterLimit: 1000 }));
  // A body the parser refuses (too large, bad encoding): the route's error format, nothing applied.
  r.use('/nacos', (err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!err) return next();
    const e = toApiError(err);
    if (req.path.startsWith('/v2/')) sendV2Error(res, e);
    else sendV1Error(res, e);
  });
  v1InstanceRoutes(r, d);
  v1ServiceRoutes(r, d);
  v2Routes(r, d);
  return r;
}
