"""The one directory of Jenkins servers: those an admin added (database) plus those in settings.

Built by every tool server (`opsgate.api.build`, `opsgate.mcp.entry`) as the tools'
`ToolEnv.jenkins`, by the admin API for its listing, and by `opsgate doctor`. Lookups go to
the database at call time, so a server added through the admin API while opsgate runs is
usable without a restart. A server from settings wins over a database record of the same
name (the admin API refuses to create one, but settings may gain a name later); such a record
is listed as not in use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from opsgate.errors import NotFound
from opsgate.settings import JenkinsServer
from opsgate.store.protocol import Store

JenkinsSource = Literal["settings", "database"]


class JenkinsEntry(BaseModel):
    """One server as the admin API and `doctor` show it (never its token)."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    user: str
    verify_tls: bool
    source: JenkinsSource
    """`settings` (OPSGATE_JENKINS__<NAME>__*, read-only here) or `database` (the admin API)."""
    in_use: bool
    """False for a database record hidden by a settings server of the same name."""


@dataclass(frozen=True)
class JenkinsDirectory:
    """Satisfies `opsgate.tools.base.JenkinsServers`; see the module docstring."""

    store: Store
    configured: Mapping[str, JenkinsServer]
    """The servers from settings (`Settings.jenkins`)."""

    async def lookup(self, name: str) -> JenkinsServer | None:
        """The server called `name` with its token decrypted; None if neither source has it.

        Raises:
            StoreError: the stored token cannot be decrypted (the secret key changed).
        """
        if name in self.configured:
            return self.configured[name]
        try:
            record = await self.store.get_jenkins_server(name, reveal=True)
        except NotFound:
            return None
        return JenkinsServer(
            url=record.url,
            user=record.user,
            token=SecretStr(record.token or ""),
            verify_tls=record.verify_tls,
        )

    async def names(self) -> list[str]:
        stored = [record.name for record in await self.store.list_jenkins_servers()]
        return sorted({*self.configured, *stored})

    async def entries(self) -> list[JenkinsEntry]:
        """Every server of both sources, by name (settings first on a shared name)."""
        entries = [
            JenkinsEntry(
                name=name,
                url=server.url,
                user=server.user,
                verify_tls=server.verify_tls,
                source="settings",
                in_use=True,
            )
            for name, server in self.configured.items()
        ]
        entries += [
            JenkinsEntry(
                name=record.name,
                url=record.url,
                user=record.user,
                verify_tls=record.verify_tls,
                source="database",
                in_use=record.name not in self.configured,
            )
            for record in await self.store.list_jenkins_servers()
        ]
        return sorted(entries, key=lambda entry: (entry.name, entry.source != "settings"))

    def read_only(self, name: str) -> bool:
        """Whether `name` comes from settings (and so cannot be changed through the API)."""
        return name in self.configured
