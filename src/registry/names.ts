// Names as in Nacos (DESIGN §5): namespace (default `public`), group (default `DEFAULT_GROUP`),
// service, cluster (default `DEFAULT`). A grouped service name is `group@@service`; an instance id
// is `ip#port#cluster#group@@service`. Datum keys are built here and nowhere else.

export const DEFAULT_NAMESPACE = 'public';
export const DEFAULT_GROUP = 'DEFAULT_GROUP';
export const DEFAULT_CLUSTER = 'DEFAULT';
export const GROUP_SEPARATOR = '@@';
/** Nacos' cluster name rule (`^[0-9a-zA-Z-]+$`). */
export const CLUSTER_NAME_PATTERN = /^[0-9a-zA-Z-]+$/;

/** `group@@service`. */
export function groupedName(group: string, service: string): string {
  return `${group}${GROUP_SEPARATOR}${service}`;
}

/** Splits `group@@service`; a name without `@@` belongs to `defaultGroup`. */
export function splitGrouped(name: string, defaultGroup = DEFAULT_GROUP): { group: string; service: string } {
  const i = name.indexOf(GROUP_SEPARATOR);
  return i < 0 ? { group: defaultGroup, service: name } : { group: name.slice(0, i), service: name.slice(i + GROUP_SEPARATOR.length) };
}

/** `ip#port#cluster#group@@service`. */
export function instanceId(ip: string, port: number, cluster: string, grouped: string): string {
  return `${ip}#${port}#${cluster}#${grouped}`;
}

// Datum keys. A separator that no accepted name contains (names are checked for control
// characters at the edge) keeps a namespace's keys one contiguous LMDB range.
const SEP = '\u001f';
export const SERVICE_PREFIX = 's';
export const INSTANCES_PREFIX = 'i';

/** Key of a service's metadata datum. */
export function serviceKey(ns: string, grouped: string): string {
  return `${SERVICE_PREFIX}${SEP}${ns}${SEP}${grouped}`;
}

/** Key of a service's instance-list datum. */
export function instancesKey(ns: string, grouped: string): string {
  return `${INSTANCES_PREFIX}${SEP}${ns}${SEP}${grouped}`;
}

/** Prefix of every datum of `kind` in namespace `ns` (or of every namespace when ns is omitted). */
export function keyPrefix(kind: typeof SERVICE_PREFIX | typeof INSTANCES_PREFIX, ns?: string): string {
  return ns === undefined ? `${kind}${SEP}` : `${kind}${SEP}${ns}${SEP}`;
}

/** Parses a datum key; undefined for a key that is not the registry's. */
export function parseKey(key: string): { kind: 's' | 'i'; ns: string; grouped: string } | undefined {
  const parts = key.split(SEP);
  if (parts.length !== 3 || (parts[0] !== SERVICE_PREFIX && parts[0] !== INSTANCES_PREFIX)) return undefined;
  return { kind: parts[0], ns: parts[1]!, grouped: parts[2]! };
}

/** True when `s` holds a control character (never allowed in a name). */
export function hasControlChar(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}
