// The registry layer's one error type: a rejection made in apply (RegistryRejection codes) or
// at the edge before proposing. Codes are stable; only the http layer maps them to a status.

export class RegistryError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}
