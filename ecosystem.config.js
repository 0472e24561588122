// PM2: a 3-node Muster cluster on one machine.
//   npx pm2 start ecosystem.config.js     start (the peer list bootstraps empty data dirs only)
//   npx pm2 ls / npx pm2 logs             inspect
//   npx muster cluster status             the cluster as a node sees it
//   npx pm2 delete ecosystem.config.js    stop and remove
// On separate hosts, run one app per host with MUSTER_HOST set to that host's address and the
// same MUSTER_PEERS and MUSTER_CLUSTER_TOKEN everywhere.

const peers = 'n1=127.0.0.1:8848:7848,n2=127.0.0.1:8858:7858,n3=127.0.0.1:8868:7868';
const token = process.env.MUSTER_CLUSTER_TOKEN ?? 'muster-dev-token';

const node = (id, httpPort, peerPort) => ({
  name: `muster-${id}`,
  script: 'src/main.ts',
  interpreter: 'node',
  node_args: '--import tsx',
  kill_timeout: 10_000, // SIGTERM: hand over leadership and flush before PM2 escalates
  env: {
    MUSTER_NODE_ID: id,
    MUSTER_HOST: '127.0.0.1',
    MUSTER_HTTP_PORT: String(httpPort),
    MUSTER_PEER_PORT: String(peerPort),
    MUSTER_DATA_DIR: './data/pm2', // never the single-node default's ./data: two clusters must not share a data dir
    MUSTER_PEERS: peers,
    MUSTER_CLUSTER_TOKEN: token,
  },
});

// Named export: PM2 require()s this file, and requiring an ES module yields its namespace.
export const apps = [node('n1', 8848, 7848), node('n2', 8858, 7858), node('n3', 8868, 7868)];
export default { apps };
