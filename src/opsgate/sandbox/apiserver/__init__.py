"""The object store and admission of the sandbox: CRUD semantics, defaulting, validation,
quotas, authentication and RBAC."""
