// The HTTP ceilings: a hello-world on raw node:http or on express, in its own process (as each
// Muster node is). Prints its port on stdout once listening.
//
//   node --import tsx bench/hello-server.ts raw|express

import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

const kind = process.argv[2];
let handler: RequestListener;
if (kind === 'express') {
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res) => {
    res.send('Hello World!');
  });
  handler = app;
} else if (kind === 'raw') {
  handler = (req, res) => {
    req.resume();
    req.on('end', () => res.end('Hello World!'));
  };
} else {
  console.error('usage: hello-server.ts raw|express');
  process.exit(2);
}
const server = createServer(handler).listen(0, '127.0.0.1', () => {
  console.log(String((server.address() as AddressInfo).port));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
