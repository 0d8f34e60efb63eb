import { page, type Action } from "../../api.js";
import { ApiError, notFound } from "../../errors.js";
import { required, str, strings } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow } from "../../store.js";

/** ECS key pairs: imported public keys, which an instance names at RunInstances. */
const ImportKeyPair: Action = ({ params, store }) => {
  const name = required(params, "KeyPairName");
  const publicKey = required(params, "PublicKey");
  checkName(name, "KeyPairName");
  checkDescription(str(params, "Description"));
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+=*( .*)?$/.test(publicKey.trim())) {
    throw new ApiError(400, "InvalidKeyPair.Malformed", "The public key is not an OpenSSH public key.");
  }
  if (store.all("key-pair").some((k) => k.fields.KeyPairName === name))
    throw new ApiError(409, "InvalidKeyPair.Duplicate", `A key pair named ${name} already exists.`);
  const id = store.newId("kp");
  store.create("key-pair", id, {
    KeyPairId: id,
    KeyPairName: name,
    Description: str(params, "Description") ?? "",
    ProjectName: str(params, "ProjectName") ?? "default",
    PublicKey: publicKey.trim(),
    FingerPrint: `local:${Buffer.from(publicKey).toString("base64").slice(-20)}`,
    CreatedTime: isoNow(),
    UpdatedTime: isoNow(),
    Tags: [],
  });
  return { KeyPairId: id, KeyPairName: name };
};

/** Whether `ProjectName` is in the answer is an open question (answers.ts, keyPairProjectName). */
const DescribeKeyPairs: Action = ({ params, store }) => {
  const ids = strings(params, "KeyPairIds");
  const names = strings(params, "KeyPairNames");
  const name = str(params, "KeyPairName");
  const found = store
    .all("key-pair")
    .filter(
      (k) =>
        (ids.length === 0 || ids.includes(k.id)) &&
        (names.length === 0 || names.includes(String(k.fields.KeyPairName))) &&
        (!name || k.fields.KeyPairName === name),
    );
  return page(
    found.map(({ fields: { PublicKey: _p, ProjectName, ...rest } }) =>
      store.answers.keyPairProjectName === "returned" ? { ...rest, ProjectName } : rest,
    ),
    params,
    "KeyPairs",
  );
};

const ModifyKeyPairAttribute: Action = ({ params, store }) => {
  const k = store.get("key-pair", required(params, "KeyPairId"));
  if (!k) throw notFound("key pair", String(params.KeyPairId)).withCode("InvalidKeyPair.NotFound");
  checkDescription(str(params, "Description"));
  store.update(k, { Description: str(params, "Description") ?? "" });
  return {};
};

const DeleteKeyPairs: Action = ({ params, store }) => {
  const names = strings(params, "KeyPairNames");
  for (const name of names) {
    const k = store.all("key-pair").find((x) => x.fields.KeyPairName === name);
    if (!k) throw notFound("key pair", name).withCode("InvalidKeyPair.NotFound");
    const users = store.all("ecs-instance").filter((i) => i.fields.KeyPairName === name);
    if (users.length > 0)
      throw new ApiError(
        409,
        "InvalidOperation.KeyPairInUse",
        `The key pair ${name} is bound to ${users.map((u) => u.id).join(", ")}.`,
      );
    store.delete(k);
  }
  return { OperationDetails: names.map((n) => ({ KeyPairName: n })) };
};

export const keyPairActions = { ImportKeyPair, DescribeKeyPairs, ModifyKeyPairAttribute, DeleteKeyPairs };
