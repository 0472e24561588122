// The registry's commands, by type. Each handler is a pure function of the command and the
// current datums (see DatumStore). The Nacos-compatible commands (register / deregister /
// update / patch instance, service create / update / delete, health flips and expiries) are
// added by the registry work; until then the product node accepts no registry commands.

import type { CommandHandler } from './datum-store.ts';

export const registryHandlers: Readonly<Record<string, CommandHandler>> = Object.freeze({});
