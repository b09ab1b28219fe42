// Roles as the Command Center uses them to show or hide controls. The server decides: these
// only avoid offering a button that would be refused. A role granted for one context or
// namespace (`me.grants`, see docs/identity.md) counts here; each approval card then says,
// per call, whether its scope lets the current user decide (`may_decide`, `decide_why`).

export const ROLES = ["none", "viewer", "operator", "approver", "admin"];

/** Whether `me` holds `role` (or a higher one) globally or through any grant. */
export function holdsAnywhere(me, role) {
  if (!me) return false;
  const wanted = ROLES.indexOf(role);
  const held = [me.role, ...(me.grants || []).map((grant) => grant.role)];
  return held.some((r) => ROLES.indexOf(r) >= wanted);
}
