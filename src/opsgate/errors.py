"""The one error family of opsgate; every adapter wraps foreign failures into it.

Raised by every layer; caught by the API (mapped to JSON error codes), the CLI (mapped to
exit codes) and the engine (turned into results the model sees). Foreign errors are always
chained with ``raise ... from e``; messages quote identifiers with ``!r``, never include
secrets, and truncate captured output.

    OpsgateError
    ├── ConfigError              settings are missing or inconsistent
    │   └── PolicyError          an approval policy is refused (names the line)
    ├── InvalidInput             a value failed validation (names the parameter)
    ├── ToolError
    │   ├── ToolNotFound         no tool by that name
    │   ├── BinaryNotFound       kubectl/helm could not be located
    │   ├── ToolFailed           a subprocess or HTTP call failed
    │   ├── NotNative            a read the native path does not serve (it runs kubectl)
    │   └── ToolTimeout          a call exceeded its time limit
    ├── ApprovalError
    │   ├── ApprovalRequired     a mutation arrived without a valid approval token
    │   └── DecisionRefused      a decision or execution the gate does not allow
    ├── AuthError
    │   ├── Unauthenticated      no or bad credentials (an ID token that does not verify)
    │   ├── Forbidden            the user's role does not allow it
    │   │   └── SignInRefused    an identity provider's user gets no access (no mapped group)
    │   └── IdentityProviderError  the identity provider could not be reached or answered badly
    ├── StoreError
    │   ├── NotFound             no such record
    │   └── Conflict             the record is not in a state that allows this
    ├── ModelError               the model provider failed or a script ran out
    ├── RunStopped               a run was stopped on request (not a failure)
    └── SandboxError             the emulated cluster could not start or answer
"""

from __future__ import annotations

MAX_FOREIGN_OUTPUT = 2000


def truncate(text: str, limit: int = MAX_FOREIGN_OUTPUT) -> str:
    """Shorten foreign output before it goes into an error message or a log line."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class OpsgateError(Exception):
    """Root of every error opsgate raises on purpose."""

    code = "error"


class ConfigError(OpsgateError):
    """Settings are missing or inconsistent."""

    code = "config_error"


class PolicyError(ConfigError):
    """An approval policy is refused; the message names the line of the offending value."""

    code = "policy_error"

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


class InvalidInput(OpsgateError):
    """A value failed validation; the message names the parameter."""

    code = "invalid_input"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class ToolError(OpsgateError):
    """Base for failures of the tool layer."""

    code = "tool_error"


class ToolNotFound(ToolError):
    """No tool by that name."""

    code = "tool_not_found"


class BinaryNotFound(ToolError):
    """A required binary (kubectl, helm) could not be located."""

    code = "binary_not_found"


class ToolFailed(ToolError):
    """A subprocess or HTTP call failed."""

    code = "tool_failed"


class NotNative(ToolError):
    """A read the native path does not serve as kubectl would; the caller runs kubectl."""

    code = "not_native"


class ToolTimeout(ToolError):
    """A call exceeded its time limit and was killed."""

    code = "tool_timeout"


class ApprovalError(OpsgateError):
    """Base for refusals of the approval gate."""

    code = "approval_error"


class ApprovalRequired(ApprovalError):
    """A mutation arrived without a valid approval token."""

    code = "approval_required"


class DecisionRefused(ApprovalError):
    """A decision or execution that the gate does not allow."""

    code = "decision_refused"


class AuthError(OpsgateError):
    """Base for identity failures."""

    code = "auth_error"


class Unauthenticated(AuthError):
    """No credentials, or credentials that do not match a user."""

    code = "unauthenticated"


class Forbidden(AuthError):
    """The user's role does not allow this action."""

    code = "forbidden"


class SignInRefused(Forbidden):
    """A person the identity provider vouches for gets no access (no mapped group, disabled)."""

    code = "sign_in_refused"


class IdentityProviderError(AuthError):
    """The identity provider could not be reached, or its answer was not usable."""

    code = "identity_provider_error"


class StoreError(OpsgateError):
    """Base for persistence failures."""

    code = "store_error"


class NotFound(StoreError):
    """No such record."""

    code = "not_found"


class Conflict(StoreError):
    """The record is not in a state that allows this action."""

    code = "conflict"


class ModelError(OpsgateError):
    """The model provider failed, or a scripted model ran out of turns."""

    code = "model_error"


class RunStopped(OpsgateError):
    """A run was stopped on request; a clean end, not a failure."""

    code = "run_stopped"


class SandboxError(OpsgateError):
    """The emulated cluster could not start or answer."""

    code = "sandbox_error"
