/**
 * What turns the stand-in's ECS records into machines. The stand-in only decides *when* (an
 * instance is run, stopped, started, deleted; an EIP is associated or not) and *with what* (the
 * user data the provider sent, the key pair's public key); a booter does it. Without one, an
 * instance is a record only (the CI tests, `--no-boot`). The real booter is the rehearsal's
 * systemd-nspawn container (harness/cloud/ecs-booter.ts), passed in by the scenario's entry
 * point (harness/cloud/main.ts): it needs root, debootstrap and nspawn, and the stand-in stays
 * a stdlib-only module that imports nothing outside local-cloud/.
 *
 * The API answers at once and the work happens in the background, as on ECS (RunInstances returns
 * while the VM is still being created). A booter queues the operations of one instance in the order
 * the stand-in asked for them, and reports failures through `failures`.
 */
export interface BootRequest {
  instanceId: string;
  hostname: string;
  /** The user data as the server's cloud-init reads it (the provider sends it base64-encoded). */
  userData: string;
  /** OpenSSH public keys of the key pair (KeyPairName): what ECS puts in the metadata's public-keys. */
  publicKeys: string[];
  /**
   * Where its primary interface is (NetworkInterfaces.1): the VPC, the subnet's CIDR and the private
   * address DescribeInstances reports. A booter that builds the VPC (harness/cloud/vpc-networks.ts)
   * puts the server there; one that does not (the single server's) may ignore it.
   */
  network: { vpcId: string; subnetCidr: string; privateIpAddress: string };
}

export interface InstanceBooter {
  /** RunInstances: create and boot a new server. */
  run(request: BootRequest): void;
  /** StopInstance: orderly power-off; the disk stays. */
  stop(instanceId: string): void;
  /** StartInstance: boot the stopped server again (same disk, so cloud-init does not run the user data again). */
  start(instanceId: string): void;
  /** DeleteInstance: power off and remove the server, its disk and its network. */
  remove(instanceId: string): void;
  /** AssociateEipAddress: make `address` reach the server from this machine. */
  attachAddress(instanceId: string, address: string): void;
  /** DisassociateEipAddress. */
  detachAddress(instanceId: string, address: string): void;
  /**
   * AllocateEipAddress: may this stand-in hand out `address`? False when another stand-in on this
   * machine holds it (two scenarios at once would otherwise both route 198.18.0.1).
   */
  claimAddress?(address: string): boolean;
  /** ReleaseEipAddress: the address is free again. */
  releaseAddress?(address: string): void;
}

/** The user data a booter gets: the provider sends base64 (checked by RunInstances before this). */
export function decodeUserData(base64: string | undefined): string {
  return base64 ? Buffer.from(base64, "base64").toString("utf8") : "";
}
