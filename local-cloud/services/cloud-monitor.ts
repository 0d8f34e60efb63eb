import type { Action, Call } from "../api.js";
import { ApiError, invalid, missing } from "../errors.js";
import { list, required, str, strings, type Params } from "../params.js";
import type { Resource } from "../store.js";

/**
 * CloudMonitor (`Volc_Observe` 2018-01-01, JSON POST): contacts, contact groups, alarm rules.
 * Create calls answer `Result.Data: [<id>]`, list calls `Result.Data: [...]` with page counts
 * (provider v0.0.196, volcengine/cloud_monitor/*). Rules are kept as the provider sent them, so a
 * read answers what was written.
 */

const ACCOUNT = "2100000000";
let sequence = 0;
/** CloudMonitor ids are long decimal strings (the provider reads them as strings). */
const newId = (call: Call) => `19${String(call.store.clock()).slice(-10)}${String(++sequence).padStart(6, "0")}`;
const now = (call: Call) => new Date(call.store.clock()).toISOString().replace(/\.\d+Z$/, "+08:00");

function pageData(items: unknown[], p: Params): Record<string, unknown> {
  const size = Number(p.PageSize ?? 100) || 100;
  const number = Number(p.PageNumber ?? 1) || 1;
  return {
    Data: items.slice((number - 1) * size, number * size),
    PageNumber: number,
    PageSize: size,
    TotalCount: items.length,
  };
}

function byIds(call: Call, kind: string, what: string): Resource[] {
  const ids = strings(call.params, "Ids");
  if (ids.length === 0) throw missing("Ids");
  return ids.map((id) => {
    const r = call.store.get(kind, id);
    if (!r) throw new ApiError(404, "InvalidParameter.NotFound", `The ${what} ${id} does not exist.`);
    return r;
  });
}

/** E-mail as CloudMonitor's console checks it (one address, no spaces). */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkContact(p: Params): void {
  const name = required(p, "Name");
  if (name.length > 64) throw invalid("Name", "at most 64 characters");
  const email = str(p, "Email");
  if (email !== undefined && email !== "" && !EMAIL.test(email))
    throw invalid("Email", `"${email}" is not an e-mail address`);
  if (!email && !str(p, "Phone")) throw missing("Email");
}

const CreateContacts: Action = (call) => {
  checkContact(call.params);
  if (call.store.all("cm-contact").some((c) => c.fields.Name === call.params.Name))
    throw new ApiError(409, "InvalidParameter.Duplicate", `A contact named ${String(call.params.Name)} exists.`);
  const id = newId(call);
  call.store.create("cm-contact", id, {
    Id: id,
    Name: str(call.params, "Name"),
    Email: str(call.params, "Email") ?? "",
    Phone: str(call.params, "Phone") ?? "",
  });
  return { Data: [id] };
};

/** List*ByIds answer only the ids that exist (a deleted one is simply absent, which is how the provider sees it gone). */
const listByIds = (call: Call, kind: string) =>
  pageData(
    strings(call.params, "Ids").flatMap((id) => call.store.get(kind, id)?.fields ?? []),
    call.params,
  );

const ListContactsByIds: Action = (call) => listByIds(call, "cm-contact");

const UpdateContacts: Action = (call) => {
  const [contact] = byIdsOf(call, "cm-contact", "contact");
  checkContact(call.params);
  call.store.update(contact!, {
    Name: str(call.params, "Name"),
    Email: str(call.params, "Email") ?? "",
    Phone: str(call.params, "Phone") ?? "",
  });
  return { Data: [contact!.id] };
};

const DeleteContactsByIds: Action = (call) => {
  const contacts = byIds(call, "cm-contact", "contact");
  for (const c of contacts) {
    for (const g of call.store.all("cm-contact-group"))
      call.store.update(g, { ContactIds: (g.fields.ContactIds as string[]).filter((id) => id !== c.id) });
    call.store.delete(c);
  }
  return { Data: contacts.map((c) => c.id) };
};

/** Calls that name one resource by `Id`. */
function byIdsOf(call: Call, kind: string, what: string): Resource[] {
  const id = required(call.params, "Id");
  const r = call.store.get(kind, id);
  if (!r) throw new ApiError(404, "InvalidParameter.NotFound", `The ${what} ${id} does not exist.`);
  return [r];
}

function contactIds(call: Call): string[] {
  const ids = strings(call.params, "ContactsIdList");
  for (const id of ids)
    if (!call.store.get("cm-contact", id))
      throw new ApiError(404, "InvalidParameter.NotFound", `The contact ${id} does not exist.`);
  return ids;
}

const CreateContactGroup: Action = (call) => {
  const name = required(call.params, "Name");
  if (call.store.all("cm-contact-group").some((g) => g.fields.Name === name))
    throw new ApiError(409, "InvalidParameter.Duplicate", `A contact group named ${name} exists.`);
  const id = newId(call);
  call.store.create("cm-contact-group", id, {
    Id: id,
    Name: name,
    Description: str(call.params, "Description") ?? "",
    ContactIds: contactIds(call),
    AccountId: ACCOUNT,
    CreatedAt: now(call),
    UpdatedAt: now(call),
  });
  return { Data: [id] };
};

const ListContactGroups: Action = (call) => {
  const name = str(call.params, "Name");
  const groups = call.store.all("cm-contact-group").filter((g) => !name || String(g.fields.Name).includes(name));
  return pageData(
    groups.map(({ fields: { ContactIds, ...g } }) => ({
      ...g,
      Contacts: (ContactIds as string[]).map((id) => call.store.get("cm-contact", id)?.fields).filter(Boolean),
    })),
    call.params,
  );
};

const UpdateContactGroup: Action = (call) => {
  const [group] = byIdsOf(call, "cm-contact-group", "contact group");
  const changes: Record<string, unknown> = { UpdatedAt: now(call) };
  if (str(call.params, "Name") !== undefined) changes.Name = str(call.params, "Name");
  if (str(call.params, "Description") !== undefined) changes.Description = str(call.params, "Description");
  if (call.params.ContactsIdList !== undefined) changes.ContactIds = contactIds(call);
  call.store.update(group!, changes);
  return { Data: [group!.id] };
};

const UpdateContactGroupWithContacts: Action = (call) => {
  const [group] = byIdsOf(call, "cm-contact-group", "contact group");
  call.store.update(group!, { ContactIds: contactIds(call), UpdatedAt: now(call) });
  return { Data: [group!.id] };
};

const DeleteContactGroupByIds: Action = (call) => {
  const groups = byIds(call, "cm-contact-group", "contact group");
  for (const g of groups) {
    const rules = call.store.all("cm-rule").filter((r) => (r.fields.ContactGroupIds as string[]).includes(g.id));
    if (rules.length > 0)
      throw new ApiError(
        409,
        "OperationDenied.ContactGroupInUse",
        `The contact group ${g.id} is used by alarm rules ${rules.map((r) => r.id).join(", ")}.`,
      );
  }
  for (const g of groups) call.store.delete(g);
  return { Data: groups.map((g) => g.id) };
};

const LEVELS = ["critical", "warning", "notice"];
const METHODS = ["Email", "Phone", "SMS", "Webhook"];
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** What CloudMonitor's CreateRule documents as required and allowed (fields the stack uses). */
function checkRule(call: Call, p: Params): void {
  for (const f of ["RuleName", "Namespace", "SubNamespace", "Level", "EnableState", "EffectStartAt", "EffectEndAt"])
    required(p, f);
  if (!LEVELS.includes(String(p.Level))) throw invalid("Level", `must be one of ${LEVELS.join(", ")}`);
  if (!["enable", "disable"].includes(String(p.EnableState))) throw invalid("EnableState", "must be enable or disable");
  for (const f of ["EffectStartAt", "EffectEndAt"]) if (!HHMM.test(String(p[f]))) throw invalid(f, "must be HH:MM");
  const methods = strings(p, "AlertMethods");
  if (methods.length === 0) throw missing("AlertMethods");
  for (const m of methods)
    if (!METHODS.includes(m)) throw invalid("AlertMethods", `${m} is not one of ${METHODS.join(", ")}`);
  const conditions = list(p, "Conditions") as Params[];
  if (conditions.length === 0) throw missing("Conditions");
  for (const c of conditions)
    for (const f of ["MetricName", "MetricUnit", "Statistics", "ComparisonOperator", "Threshold"])
      if (c[f] === undefined || c[f] === "") throw missing(`Conditions.${f}`);
  const groups = strings(p, "ContactGroupIds");
  if (methods.some((m) => m !== "Webhook") && groups.length === 0) throw missing("ContactGroupIds");
  for (const g of groups)
    if (!call.store.get("cm-contact-group", g))
      throw new ApiError(404, "InvalidParameter.NotFound", `The contact group ${g} does not exist.`);
}

const CreateRule: Action = (call) => {
  checkRule(call, call.params);
  if (call.store.all("cm-rule").some((r) => r.fields.RuleName === call.params.RuleName))
    throw new ApiError(
      409,
      "InvalidParameter.Duplicate",
      `An alarm rule named ${String(call.params.RuleName)} exists.`,
    );
  const id = newId(call);
  call.store.create("cm-rule", id, {
    ...call.params,
    ContactGroupIds: strings(call.params, "ContactGroupIds"),
    Id: id,
    AlertState: "normal",
    CreatedAt: now(call),
    UpdatedAt: now(call),
  });
  return { Data: [id] };
};

const ListRulesByIds: Action = (call) => listByIds(call, "cm-rule");

const ListRules: Action = (call) =>
  pageData(
    call.store.all("cm-rule").map((r) => r.fields),
    call.params,
  );

const UpdateRule: Action = (call) => {
  const [rule] = byIdsOf(call, "cm-rule", "alarm rule");
  const merged = { ...rule!.fields, ...call.params };
  checkRule(call, merged);
  call.store.update(rule!, { ...merged, ContactGroupIds: strings(merged, "ContactGroupIds"), UpdatedAt: now(call) });
  return { Data: [rule!.id] };
};

const DeleteRulesByIds: Action = (call) => {
  const rules = byIds(call, "cm-rule", "alarm rule");
  for (const r of rules) call.store.delete(r);
  return { Data: rules.map((r) => r.id) };
};

/** Resource types CloudMonitor tags, and the kind the stand-in keeps them as. */
const TAGGED: Record<string, string> = { rule: "cm-rule" };

function taggedResources(call: Call): Resource[] {
  const type = required(call.params, "ResourceType");
  const kind = TAGGED[type];
  if (!kind) throw invalid("ResourceType", type);
  const ids = strings(call.params, "ResourceIds");
  if (ids.length === 0) throw missing("ResourceIds");
  return ids.map((id) => {
    const r = call.store.get(kind, id);
    if (!r) throw new ApiError(404, "InvalidParameter.NotFound", `The ${type} ${id} does not exist.`);
    return r;
  });
}

type Tag = { Key: string; Value: string };

/** TagResources: add or overwrite tags by key (at most 50 a resource); the provider calls it after every UpdateRule. */
const TagResources: Action = (call) => {
  const incoming = list(call.params, "Tags").map((t) => t as Params);
  const tags: Tag[] = incoming.map((t) => {
    const key = str(t, "Key");
    if (!key) throw missing("Tags.Key");
    if (key.length > 128) throw invalid("Tags.Key", key);
    const value = str(t, "Value") ?? "";
    if (value.length > 256) throw invalid("Tags.Value", value);
    return { Key: key, Value: value };
  });
  for (const r of taggedResources(call)) {
    const current = ((r.fields.Tags as Tag[] | undefined) ?? []).filter((t) => !tags.some((n) => n.Key === t.Key));
    if (current.length + tags.length > 50) throw invalid("Tags", "a resource has at most 50 tags");
    call.store.update(r, { Tags: [...current, ...tags] });
  }
  return {};
};

const UntagResources: Action = (call) => {
  const keys = strings(call.params, "TagKeys");
  for (const r of taggedResources(call))
    call.store.update(r, { Tags: ((r.fields.Tags as Tag[] | undefined) ?? []).filter((t) => !keys.includes(t.Key)) });
  return {};
};

export const cloudMonitorActions = {
  CreateContacts,
  ListContactsByIds,
  UpdateContacts,
  DeleteContactsByIds,
  CreateContactGroup,
  ListContactGroups,
  UpdateContactGroup,
  UpdateContactGroupWithContacts,
  DeleteContactGroupByIds,
  CreateRule,
  ListRulesByIds,
  ListRules,
  UpdateRule,
  DeleteRulesByIds,
  TagResources,
  UntagResources,
};
