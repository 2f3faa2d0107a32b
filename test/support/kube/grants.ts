/**
 * RBAC grants on rampcontracts for test ServiceAccounts (a ClusterRole and its binding per
 * grant), and their removal: what the API tests use to make users RBAC allows or refuses.
 */
import { RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export class RampartGrants {
  private readonly names: string[] = [];
  private readonly kc: KubeConfig;
  private readonly namespace: string;

  constructor(kc: KubeConfig, namespace: string) {
    this.kc = kc;
    this.namespace = namespace;
  }

  /** Grants ServiceAccount `sa` of the namespace these rules on group rampart.dev. */
  async grant(sa: string, rules: { resources: string[]; verbs: string[] }[]): Promise<void> {
    const rbac = this.kc.makeApiClient(RbacAuthorizationV1Api);
    const name = `${this.namespace}-${sa}`;
    this.names.push(name);
    await rbac.createClusterRole({ body: { metadata: { name }, rules: rules.map((r) => ({ apiGroups: ['rampart.dev'], ...r })) } });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: this.namespace }] },
    });
  }

  async removeAll(): Promise<void> {
    const rbac = this.kc.makeApiClient(RbacAuthorizationV1Api);
    for (const name of this.names.splice(0)) {
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
  }
}
