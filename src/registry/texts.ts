// The texts Nacos answers for each registry rejection, in one place, quoted from alibaba/nacos
// 2.2–2.4 (ServiceOperatorV2Impl, InstanceOperatorClientImpl, ClusterOperatorV2Impl,
// HealthOperatorV2Impl, EphemeralClientOperationServiceImpl). Handlers put them in
// DatumCommandError messages; the http layer maps the rejection code to a status and code.

/** Service.toString() as Nacos prints it inside some texts. */
function serviceToString(ns: string, grouped: string, ephemeral: boolean): string {
  const i = grouped.indexOf('@@');
  return `Service{namespace='${ns}', group='${grouped.slice(0, i)}', name='${grouped.slice(i + 2)}', ephemeral=${ephemeral}, revision=0}`;
}

export const texts = {
  instanceNotFound: (id: string) => `instance not exist: ${id}`,
  /** ServiceOperatorV2Impl.update / delete. */
  serviceNotFound: (grouped: string) => `service ${grouped} not found!`,
  /** InstanceOperatorClientImpl.updateInstance (PUT /instance on an unknown service). */
  serviceNotFoundForInstance: (ns: string, grouped: string, ephemeral: boolean) => `service not found, namespace: ${ns}, service: ${serviceToString(ns, grouped, ephemeral)}`,
  /** ClusterOperatorV2Impl.updateClusterMetadata. */
  serviceNotFoundForCluster: (grouped: string) => `service not found:${grouped}`,
  serviceExists: (grouped: string) => `specified service ${grouped} already exists!`,
  serviceNotEmpty: (grouped: string) => `Service ${grouped} is not empty, can't be delete. Please unregister instance first`,
  /** NacosRuntimeException's message format ("errCode: %d, errMsg: %s "). */
  persistentServiceNoEphemeral: (grouped: string) => `errCode: 400, errMsg: Current service ${grouped} is persistent service, can't register ephemeral instance. `,
  ephemeralServiceNoPersistent: (grouped: string) => `errCode: 400, errMsg: Current service ${grouped} is ephemeral service, can't register persistent instance. `,
  healthCheckActive: (grouped: string, cluster: string) => `health check is still working, service: ${grouped}, cluster: ${cluster}`,
};
