"""Request and response bodies of ``/organisations/{name}/ldap`` (see ``routes_ldap``).

The bind password goes in only (``bind_password``) and never comes out: a
source says ``has_password`` instead.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kastell.directory.ldap import CheckResult, Source, SourceSettings, SyncResult, UserEntry
from kastell.directory.ldap.sources import MAX_INTERVAL


class LdapSourceIn(BaseModel):
    """An organisation's LDAP / Active Directory source; omitted fields take the defaults shown."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=1024, description="ldap://host[:port] or ldaps://host[:port]")
    starttls: bool = Field(False, description="StartTLS on an ldap:// URL")
    ca_cert: str | None = Field(None, max_length=65536, description="PEM of the CA to trust; null: the system's")
    bind_dn: str = Field("", max_length=1024, description="the service account; empty: anonymous")
    bind_password: str | None = Field(
        None, max_length=1024, description="the service account's password; omit to keep the stored one"
    )
    base_dn: str = Field(max_length=1024, description="where the users are")
    user_filter: str = Field("(objectClass=inetOrgPerson)", max_length=1024)
    mail_attr: str = Field("mail", max_length=64)
    name_attr: str = Field("cn", max_length=64)
    id_attr: str = Field("entryUUID", max_length=64, description="an immutable id; Active Directory: objectGUID")
    group_base: str | None = Field(None, max_length=1024, description="where the groups are; null: the base DN")
    group_filter: str | None = Field(
        "(objectClass=groupOfNames)", max_length=1024, description="which entries are groups; null: no group sync"
    )
    member_attr: str = Field("member", max_length=64)
    sync_interval: int = Field(0, ge=0, le=MAX_INTERVAL, description="seconds between syncs (at least 60); 0: manual")
    enabled: bool = Field(True, description="scheduled sync on")

    def settings(self) -> SourceSettings:
        values = self.model_dump(exclude={"bind_password"})
        return SourceSettings(**values)


class LdapSourceOut(BaseModel):
    org: str
    url: str
    starttls: bool
    ca_cert: str | None
    bind_dn: str
    has_password: bool = Field(description="whether a bind password is stored (it is never returned)")
    base_dn: str
    user_filter: str
    mail_attr: str
    name_attr: str
    id_attr: str
    group_base: str | None
    group_filter: str | None
    member_attr: str
    sync_interval: int
    enabled: bool
    last_sync: int | None = Field(description="when the last sync ended (epoch seconds)")
    last_error: str | None = Field(description="why the last sync failed; null if it worked")
    created: int
    updated: int

    @classmethod
    def of(cls, source: Source) -> LdapSourceOut:
        st = source.settings
        return cls(
            org=source.org, url=st.url, starttls=st.starttls, ca_cert=st.ca_cert, bind_dn=st.bind_dn,
            has_password=source.has_password, base_dn=st.base_dn, user_filter=st.user_filter,
            mail_attr=st.mail_attr, name_attr=st.name_attr, id_attr=st.id_attr, group_base=st.group_base,
            group_filter=st.group_filter, member_attr=st.member_attr, sync_interval=st.sync_interval,
            enabled=st.enabled, last_sync=source.last_sync, last_error=source.last_error,
            created=source.created, updated=source.updated,
        )  # fmt: skip


class LdapCheckOut(BaseModel):
    ok: bool = Field(description="the bind and the searches worked")
    users: int | None = Field(None, description="user entries found")
    groups: int | None = Field(None, description="group entries found; null when groups are not synced")
    error: str | None = Field(None, description="what went wrong, when not ok")

    @classmethod
    def of(cls, result: CheckResult) -> LdapCheckOut:
        return cls(ok=True, users=result.users, groups=result.groups)


class LdapEntryOut(BaseModel):
    dn: str
    external_id: str
    mail: str | None
    name: str

    @classmethod
    def of(cls, entry: UserEntry) -> LdapEntryOut:
        return cls(dn=entry.dn, external_id=entry.external_id, mail=entry.mail, name=entry.name)


class LdapSyncOut(BaseModel):
    users: int
    created: int
    linked: int = Field(description="existing accounts taken over by the directory")
    updated: int
    suspended: int
    reactivated: int
    skipped: int
    groups: int
    groups_created: int
    groups_updated: int
    groups_deleted: int
    members_added: int
    members_removed: int
    notes: list[str] = Field(description="why entries were skipped (the first 50)")

    @classmethod
    def of(cls, result: SyncResult) -> LdapSyncOut:
        return cls(**result.counts(), notes=list(result.notes))
