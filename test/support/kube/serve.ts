/**
 * Runs the test API server by hand, for developing against it:
 *   npm run build && node dist/test/support/kube/serve.js
 * Builds or finds the binaries, starts etcd + kube-apiserver on loopback, installs the
 * RampContract CRD, prints the kubeconfig path (use it with KUBECONFIG=… kubectl), and
 * stops everything on Ctrl-C or SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startKubeApiServer } from './apiserver.js';
import { installCrd, loadKubeConfig } from './client.js';

// From dist/test/support/kube/ back to the checkout's test/support/kube/build.sh.
const script = fileURLToPath(new URL('../../../../test/support/kube/build.sh', import.meta.url));
const binDir = execFileSync(script, [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
const server = await startKubeApiServer({ binDir });
try {
  await installCrd(loadKubeConfig(server.kubeconfigPath));
} catch (e) {
  await server.stop();
  throw e;
}
process.stdout.write(`kube-apiserver ${server.url} ready in ${server.startupMs} ms; CRD installed\nexport KUBECONFIG=${server.kubeconfigPath}\n`);

const stop = (): void => {
  void server.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
