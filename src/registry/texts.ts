// The texts Nacos answers for each registry rejection, in one place (quoted from alibaba/nacos;
// see the notes beside each). Handlers put them in DatumCommandError messages; the http layer
// maps the rejection code to a status and wraps the text as Nacos does for the route.

export const texts = {
  instanceNotFound: (id: string) => `instance not exist: ${id}`,
  serviceNotFound: (ns: string, grouped: string) => `service not found, namespace: ${ns}, serviceName: ${grouped}`,
  serviceExists: (grouped: string) => `specified service ${grouped} already exists!`,
  serviceNotEmpty: (grouped: string) => `Service ${grouped} is not empty, can't be delete. Please unregister instance first`,
  persistentServiceNoEphemeral: (grouped: string) => `Current service ${grouped} is persistent service, can't register ephemeral instance.`,
  ephemeralServiceNoPersistent: (grouped: string) => `Current service ${grouped} is ephemeral service, can't register persistent instance.`,
  healthCheckActive: (grouped: string) => `health check is still working, service: ${grouped}`,
};
