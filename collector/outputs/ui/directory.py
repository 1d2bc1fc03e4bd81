"""The console's LDAP / Active Directory login (`ldap:` in collector.yaml, docs/console.md): a name and password
in, a role (or why not) out, as a `users.Verdict` for the store's login and its lockout.

ldap3 speaks the protocol (BER, StartTLS, the bind and search operations, RFC 4515 escaping); this module only
decides: search the person as the service account, bind as the entry found with the typed password, then ask
each mapped group whether that entry is a member. Every connection has its connect and answer timeouts, so a
directory that is down answers "unreachable" within them instead of holding the login page. The password is
never logged nor put into a verdict's detail.
"""
from __future__ import annotations

import logging
import math
import ssl
from pathlib import Path

from ldap3 import BASE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from opsmon.collector.config.ldap import LdapConfig
from opsmon.collector.core import secrets
from opsmon.collector.outputs.api.deps import RANK
from opsmon.collector.store.users import Verdict

log = logging.getLogger("opsmon.console.ldap")


class Directory:
    """A configured directory; `check(name, password)` blocks for at most a few timeouts (run it off the loop)."""

    def __init__(self, config: LdapConfig, base_dir: Path, source: str) -> None:
        """Reads the service account's password now (a ConfigError at start names the key, as for any secret)."""
        assert config.url is not None
        self.config = config
        self._bind_password = secrets.read(config, "bind_password", "ldap", base_dir, source)
        tls = None
        if config.url.lower().startswith("ldaps://") or config.start_tls:
            ca = str(base_dir / config.ca_file) if config.ca_file else None
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca)
        self._server = Server(config.url, connect_timeout=config.connect_timeout, tls=tls, get_info=None)

    @classmethod
    def of(cls, config: LdapConfig, base_dir: Path, source: str) -> Directory | None:
        return cls(config, base_dir, source) if config.url else None

    def _connect(self, user: str | None, password: str | None) -> Connection:
        """An open, bound connection (StartTLS first when asked); LDAPException when the server cannot be
        reached or refuses TLS; `bound` False when it refused the name or password."""
        # receive_timeout in whole seconds: ldap3 packs it into a socket option
        conn = Connection(self._server, user=user, password=password, receive_timeout=math.ceil(self.config.timeout),
                          read_only=True, raise_exceptions=False, auto_referrals=False)
        conn.open()
        if self.config.start_tls and not conn.start_tls():
            raise LDAPException(f"StartTLS refused: {conn.result.get('description')}")
        conn.bind()
        return conn

    def check(self, name: str, password: str) -> Verdict:
        # An empty password would be an "unauthenticated bind" (RFC 4513 5.1.2), which servers answer with success.
        if not name or not password or "\x00" in name:
            return Verdict(None, "password")
        config = self.config
        service: Connection | None = None
        person: Connection | None = None
        try:
            service = self._connect(config.bind_dn, self._bind_password)
            if not service.bound:
                log.warning("ldap: the service account %s was refused: %s", config.bind_dn,
                            service.result.get("description"))
                return Verdict(None, "unreachable", "the service account was refused")
            query = config.user_filter.replace("{name}", escape_filter_chars(name))
            service.search(config.user_base, query, SUBTREE, attributes=[], size_limit=2)
            found = [e["dn"] for e in service.response or () if e.get("type") == "searchResEntry"]
            if len(found) != 1:  # none, or a name that is not unique: nobody to bind as
                return Verdict(None, "password")
            dn = found[0]
            person = self._connect(dn, password)
            if not person.bound:
                return Verdict(None, "password")
            member = escape_filter_chars(dn)
            roles = [role for group, role in config.groups.items()
                     if service.search(group, f"(|(member={member})(uniqueMember={member}))", BASE, attributes=[])]
            if not roles:
                return Verdict(None, "no_role", dn)
            return Verdict(max(roles, key=RANK.__getitem__))
        except LDAPException as exc:
            log.warning("ldap: %s unreachable: %s", config.url, exc)
            return Verdict(None, "unreachable", f"{type(exc).__name__}: {exc}"[:300])
        finally:
            for conn in (service, person):
                if conn is not None and not conn.closed:
                    try:
                        conn.unbind()
                    except LDAPException:
                        pass  # the answer is given; a connection that will not close is the server's to drop
