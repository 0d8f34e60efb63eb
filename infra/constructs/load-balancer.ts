import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { Certificate } from "../../.gen/providers/volcengine/certificate/index.js";
import { Clb } from "../../.gen/providers/volcengine/clb/index.js";
import { Listener, type ListenerHealthCheck } from "../../.gen/providers/volcengine/listener/index.js";
import { ServerGroup } from "../../.gen/providers/volcengine/server-group/index.js";
import { ServerGroupServer } from "../../.gen/providers/volcengine/server-group-server/index.js";
import type { EipSettings } from "./elastic-ip.js";
import { LocalFile } from "./local-file.js";
import { tagBlocks } from "./tags.js";
import { apiDescription } from "./description.js";

/** The port Nginx listens on on every app server; the load balancer forwards there. */
export const BACKEND_PORT = 80;
/** Readiness endpoint of the app (cross-part contract): 200 only when the database answers. */
export const HEALTH_CHECK_PATH = "/readyz";

export interface LoadBalancerProps {
  /** Prefix of every resource name, e.g. "todo-api-dev" (`<project>-<environment>`). */
  readonly name: string;
  /** Subnet of the load balancer (ForceNew: a new subnet is a new CLB and a new IP). */
  readonly subnetId: string;
  /** CLB specification, e.g. "small_1". */
  readonly spec: string;
  /** Billing of the load balancer's public IP. */
  readonly eip: EipSettings;
  /** ECS instance ids of the app servers; every one joins the server group. */
  readonly serverInstanceIds: readonly string[];
  /**
   * What each server's membership in the group waits for, by index (its deploy step): a server
   * joins only once it serves, so a first deploy or a scale-up does not fire the load balancer's
   * unhealthy-servers alarm during the minutes of the deploy.
   * @default - servers join as soon as their instance exists
   */
  readonly serverReady?: readonly (readonly ITerraformDependable[])[];
  /**
   * PEM files on the deploying machine, read by Terraform at plan time (so never in the
   * synthesized JSON; not needed for destroy); the provider stores them in the Terraform state.
   * @default - no HTTPS listener (plain HTTP on port 80 only)
   */
  readonly certificate?: {
    readonly domain: string;
    readonly certificatePath: string;
    readonly privateKeyPath: string;
  };
  /** Tags put on every taggable resource (the stack adds managed-by, app and environment). */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * A public CLB in front of the app servers: its elastic IP (billing from `eip`), one server group
 * holding every server on port 80 (Nginx), an HTTP listener on 80 and, with a certificate, an
 * HTTPS listener on 443 that terminates TLS and forwards plain HTTP to the same group. Both
 * listeners health-check GET /readyz through Nginx, so a server whose app or database connection
 * is down stops getting traffic.
 *
 * Port 80 keeps serving the API in plain HTTP even with a certificate (no redirect): a redirect
 * would turn API POSTs into GETs in many clients; apps should use the https:// URL.
 */
export class LoadBalancer extends Construct {
  readonly loadBalancerId: string;
  readonly publicIp: string;
  readonly serverGroupId: string;
  /** The plain-HTTP listener; its health-check counts are what the unhealthy-server alarm watches. */
  readonly httpListenerId: string;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const tags = tagBlocks(props.tags);
    const clb = new Clb(this, "clb", {
      loadBalancerName: `${props.name}-clb`,
      description: apiDescription(`Public entry of the Todo API of ${props.name}`),
      type: "public",
      subnetId: props.subnetId,
      loadBalancerSpec: props.spec,
      loadBalancerBillingType: "PostPaid",
      eipBillingConfig: {
        eipBillingType: props.eip.billingType,
        bandwidth: props.eip.bandwidthMbps,
        isp: props.eip.isp,
      },
      tags,
    });
    const group = new ServerGroup(this, "server-group", {
      loadBalancerId: clb.id,
      serverGroupName: `${props.name}-app-servers`,
      description: apiDescription("Todo API app servers, Nginx on port 80"),
      type: "instance",
    });
    props.serverInstanceIds.forEach((instanceId, i) => {
      new ServerGroupServer(this, `server-${i + 1}`, {
        serverGroupId: group.id,
        instanceId,
        type: "ecs",
        port: BACKEND_PORT,
        weight: 100,
        description: apiDescription(`app server ${i + 1}`),
        dependsOn: props.serverReady?.[i] ? [...props.serverReady[i]] : undefined,
      });
    });

    const healthCheck: ListenerHealthCheck = {
      enabled: "on",
      method: "GET",
      uri: HEALTH_CHECK_PATH,
      httpCode: "http_2xx",
      interval: 2,
      timeout: 2,
      healthyThreshold: 2,
      unHealthyThreshold: 2,
    };
    const httpListener = new Listener(this, "http", {
      loadBalancerId: clb.id,
      listenerName: `${props.name}-http`,
      description: apiDescription("API over plain HTTP"),
      protocol: "HTTP",
      port: 80,
      serverGroupId: group.id,
      scheduler: "wlc",
      healthCheck,
    });

    if (props.certificate) {
      // Read at plan time; only needed to create the certificate (destroy works without them).
      const pem = new LocalFile(this, "certificate-pem", { path: props.certificate.certificatePath });
      const pemKey = new LocalFile(this, "certificate-key", {
        path: props.certificate.privateKeyPath,
        // The provider does not mark private_key Sensitive: without this, plans print the key.
        sensitive: true,
      });
      const certificate = new Certificate(this, "certificate", {
        certificateName: `${props.name}-${props.certificate.domain.replace(/\./g, "-")}`.slice(0, 128),
        description: apiDescription(`TLS certificate for ${props.certificate.domain}`),
        publicKey: pem.content,
        privateKey: pemKey.content,
        tags,
        lifecycle: {
          // Both keys are ForceNew in the provider: a renewed certificate is a new resource. Create
          // it and re-point the HTTPS listener before deleting the old one, which the listener
          // still uses (the default order would delete the in-use certificate first).
          createBeforeDestroy: true,
          precondition: [
            pem.required("cluster.certificate.certificatePath"),
            pemKey.required("cluster.certificate.privateKeyPath"),
          ],
        },
      });
      new Listener(this, "https", {
        loadBalancerId: clb.id,
        listenerName: `${props.name}-https`,
        description: apiDescription(`API over HTTPS for ${props.certificate.domain}`),
        protocol: "HTTPS",
        port: 443,
        serverGroupId: group.id,
        scheduler: "wlc",
        certificateSource: "clb",
        certificateId: certificate.id,
        // TLS 1.2+ only (iOS App Transport Security requires 1.2 with forward secrecy).
        securityPolicyId: "tls_cipher_policy_1_2",
        healthCheck,
      });
    }

    this.loadBalancerId = clb.id;
    this.publicIp = clb.eipAddress;
    this.serverGroupId = group.id;
    this.httpListenerId = httpListener.listenerId;
  }
}
