import { page, selected, type Action, type Call } from "../../api.js";
import { ApiError, notFound } from "../../errors.js";
import { required, str, tags } from "../../params.js";
import { checkDescription, checkName } from "../../rules.js";
import { isoNow, type Resource } from "../../store.js";

/** CLB certificates (the `clb` service): uploaded PEM pairs an HTTPS listener names. */
/** PEM shape only: a CERTIFICATE block, and a PRIVATE KEY block (any kind). Nothing is parsed. */
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----/;

const UploadCertificate: Action = (call) => {
  const p = call.params;
  if (!PEM_CERT.test(required(p, "PublicKey")))
    throw new ApiError(400, "InvalidParameter.PublicKey", "PublicKey is not a PEM certificate.");
  if (!PEM_KEY.test(required(p, "PrivateKey")))
    throw new ApiError(400, "InvalidParameter.PrivateKey", "PrivateKey is not a PEM private key.");
  checkName(str(p, "CertificateName"), "CertificateName");
  checkDescription(str(p, "Description"));
  const id = call.store.newId("cert");
  call.store.create("clb-certificate", id, {
    CertificateId: id,
    CertificateName: str(p, "CertificateName") ?? "",
    Description: str(p, "Description") ?? "",
    DomainName: "",
    ExpiredAt: "",
    CreateTime: isoNow(),
    ProjectName: str(p, "ProjectName") ?? "default",
    Tags: tags(p),
  });
  return { CertificateId: id };
};

const DescribeCertificates: Action = (call) => {
  return page(
    selected(call, "clb-certificate", "CertificateIds").map((r) => ({
      ...r.fields,
      Listeners: call.store
        .all("clb-listener")
        .filter((l) => l.fields.CertificateId === r.id)
        .map((l) => l.id),
    })),
    call.params,
    "Certificates",
  );
};

function certOf(call: Call): Resource {
  const id = required(call.params, "CertificateId");
  const r = call.store.get("clb-certificate", id);
  if (!r) throw notFound("certificate", id).withCode("InvalidCertificate.NotFound");
  return r;
}

const ModifyCertificateAttributes: Action = (call) => {
  const c = certOf(call);
  checkName(str(call.params, "CertificateName"), "CertificateName");
  checkDescription(str(call.params, "Description"));
  const changes: Record<string, unknown> = {};
  for (const f of ["CertificateName", "Description"])
    if (str(call.params, f) !== undefined) changes[f] = str(call.params, f);
  call.store.update(c, changes);
  return {};
};

/** A certificate a listener uses cannot be deleted (so a replaced certificate must be created before the old one goes). */
const DeleteCertificate: Action = (call) => {
  const c = certOf(call);
  const users = call.store.all("clb-listener").filter((l) => l.fields.CertificateId === c.id);
  if (users.length > 0)
    throw new ApiError(
      409,
      "InvalidOperation.CertificateInUse",
      `The certificate ${c.id} is used by listeners ${users.map((l) => l.id).join(", ")}.`,
    );
  call.store.delete(c);
  return {};
};

export const certificateActions = {
  UploadCertificate,
  DescribeCertificates,
  ModifyCertificateAttributes,
  DeleteCertificate,
};
