/**
 * What turns the stand-in's network and managed-service records into something that answers: the
 * NAT gateway's egress, the CLB's forwarding, RDS's PostgreSQL. Like the InstanceBooter
 * (booter.ts), the stand-in only says *what the records now are*, at the call that changed them;
 * a booter builds it in the background (harness/cloud/vpc-networks.ts, as root). Without one, these
 * are records only (CI, `--no-boot`). Each call carries the whole state of one resource as its
 * records say after the change, so a booter never has to replay the API's rules.
 */
export interface NetworkBooter {
  /**
   * CreateSnatEntry / DeleteSnatEntry: the source ranges of the VPC whose traffic to the Internet
   * goes out through a NAT gateway (each SNAT entry's subnet CIDR or SourceCidr). Anything else in
   * the VPC without an EIP has no way out.
   */
  egress(vpcId: string, sourceCidrs: string[]): void;
  /** DeleteVpc (nothing is left in it: no subnet, no security group): its network goes. */
  vpcDeleted(vpcId: string): void;
  /** A load balancer after a change of it, its listeners or its server groups; undefined once deleted. */
  loadBalancer(loadBalancerId: string, forwarding: LoadBalancerForwarding | undefined): void;
  /** An RDS for PostgreSQL instance after a change of it, its accounts, databases or allowlists; undefined once deleted. */
  database(instanceId: string, state: DatabaseState | undefined): void;
  /**
   * CreateDBAccount / ResetDBAccount: the account's password, given before the state that holds the
   * account. Never part of a record (DescribeDBAccounts does not answer it; the call log redacts it).
   */
  databasePassword(instanceId: string, accountName: string, password: string): void;
}

export interface LoadBalancerForwarding {
  vpcId: string;
  /** `public` (reached at `address` from the Internet) or `private`. */
  type: string;
  /** The public address (EipAddress) of a public load balancer, the ENI's private address otherwise. */
  address: string;
  listeners: ListenerForwarding[];
}

export interface ListenerForwarding {
  listenerId: string;
  protocol: string;
  port: number;
  /** `on` or `off` (a disabled listener forwards nothing). */
  enabled: string;
  /** `wrr`, `wlc` or `sh`. */
  scheduler: string;
  healthCheck: ListenerHealthCheck;
  /** The members of the listener's server group, as its records hold them now. */
  servers: { instanceId: string; ip: string; port: number; weight: number }[];
}

/** The listener's health check as the API answers it (DescribeListenerAttributes' names). */
export interface ListenerHealthCheck {
  enabled: string;
  method?: string;
  uri?: string;
  httpCode?: string;
  interval?: number;
  timeout?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

export interface DatabaseState {
  vpcId: string;
  subnetCidr: string;
  /** The private endpoint (the first address of the Cluster endpoint): its domain, IP address and port. */
  domain: string;
  address: string;
  port: number;
  /** The instance's status (Running, AllowListMaintaining, ...). */
  status: string;
  accounts: { name: string; type: string; privileges: string }[];
  databases: { name: string; owner: string }[];
  /** The entries of every allowlist associated with the instance (addresses or CIDR blocks). */
  allowList: string[];
}
