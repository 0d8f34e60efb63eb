/**
 * What the servers may do with attachments, and nothing more: the API presigns uploads (PUT) and
 * downloads (GET) for clients, checks an upload with HEAD, and deletes the objects of deleted
 * attachments, todos and accounts (DELETE), all single-part and under the files prefix. A
 * presigned URL carries the signer's rights, so a client holding one can do exactly that one
 * request, and only because the role may. Nothing on the bucket itself (no listing, policy, ACL,
 * CORS, lifecycle or bucket deletion), and nothing outside the prefix; those are denied explicitly
 * as well, so a broader policy attached to the role later does not grant them by accident (an
 * explicit Deny wins in Volcengine IAM). HEAD is assumed to be authorized as `tos:GetObject`, as
 * S3 authorizes HeadObject with GetObject (not verified against TOS). Action and resource syntax as
 * in backupPolicyDocument; not checked against Volcengine's policy validator or a live account
 * (docs/files.md).
 */
export function filesPolicyDocument(bucketName: string, keyPrefix: string): string {
  return JSON.stringify({
    Statement: [
      {
        Effect: "Allow",
        Action: ["tos:PutObject", "tos:GetObject", "tos:DeleteObject", "tos:AbortMultipartUpload"],
        Resource: [`trn:tos:::${bucketName}/${keyPrefix}*`],
      },
      {
        Effect: "Deny",
        Action: [...FILES_ROLE_DENIED_ACTIONS],
        Resource: [`trn:tos:::${bucketName}`, `trn:tos:::${bucketName}/*`],
      },
    ],
  });
}

/** What the servers may never do to the files bucket, whatever else a role is given later. */
export const FILES_ROLE_DENIED_ACTIONS = [
  "tos:DeleteBucket*",
  "tos:PutBucket*",
  "tos:PutLifecycleConfiguration",
  "tos:PutObjectACL",
] as const;

/** Name of the role of a cluster's app servers without the backup role; IAM names ≤ 64 characters. */
export function filesRoleName(name: string): string {
  return `${name}-files`;
}

/** Name of the files policy (attached to every role an app server holds). */
export function filesPolicyName(name: string): string {
  return `${name}-files-tos`;
}
