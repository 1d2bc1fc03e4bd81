"""E-mail over SMTP. STARTTLS is required unless the operator says otherwise: a mail relay that
does not offer it would carry incident details (and the login) in clear text across the network.

smtplib blocks, so each send runs in a worker thread; the event loop keeps going.
Each language is its own text/plain part (Content-Language set), so a reader
sees both and a filter can pick one. The Subject is RFC 2047 encoded UTF-8.
Messages of one incident share a References header so mail clients thread them.
"""
from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from opsmon.collector.config.notify import EmailConfig
from opsmon.collector.core import secrets
from opsmon.collector.notify.base import Channel, DeliveryError, resolve_path, tls_context
from opsmon.collector.notify.message import Notice, compose, languages, render

LANGUAGE_TAGS = {"zh": "zh-CN", "en": "en"}


def build(notice: Notice, config: EmailConfig, recipients: list[str], now: datetime) -> EmailMessage:
    msg = EmailMessage()
    subject, _ = compose(notice, config.lang, now)
    msg["Subject"] = subject
    msg["From"] = config.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(now)
    domain = config.sender.rpartition("@")[2] or "opsmon"
    msg["Message-ID"] = make_msgid("opsmon", domain=domain)
    thread = f"<incident-{notice.incident_id}@{domain}>"
    msg["References"] = thread
    msg["In-Reply-To"] = thread
    parts = [(lang, render(notice, lang, now)[1]) for lang in languages(config.lang)]
    set_parts(msg, parts)
    return msg


def set_parts(msg: EmailMessage, parts: list[tuple[str, str]]) -> None:
    """One text/plain part per language, in order (Chinese first), each with its Content-Language."""
    if len(parts) == 1:
        msg.set_content(parts[0][1], charset="utf-8")
        msg["Content-Language"] = LANGUAGE_TAGS[parts[0][0]]
        return
    msg.make_mixed()
    for lang, body in parts:
        part = EmailMessage()
        part.set_content(body, charset="utf-8")
        part["Content-Language"] = LANGUAGE_TAGS[lang]
        part["Content-Disposition"] = "inline"
        msg.attach(part)


class EmailChannel(Channel):
    type_name = "email"

    def __init__(self, name: str, config: EmailConfig, base_dir: Path, source: str) -> None:
        password = secrets.read(config, "password", f"notify.channels.{name}", base_dir, source)
        super().__init__(name, config.lang, [password] if password else [])
        self.config = config
        self._password = password
        self._tls = tls_context(resolve_path(config.ca_file, base_dir))

    async def send(self, notice: Notice, now: datetime) -> None:
        recipients = list(dict.fromkeys([*self.config.to, *notice.emails()]))
        if not recipients:
            raise DeliveryError("no recipient has an e-mail address and the channel has no `to`", permanent=True)
        if notice.personal_ack_url and recipients == notice.emails()[:1]:
            # to the person paged alone: their own one-click link, not the group link that asks who (issue 18)
            notice = replace(notice, ack_url=notice.personal_ack_url)
        msg = build(notice, self.config, recipients, now)
        await asyncio.to_thread(self._deliver, msg, recipients)

    def send_text(self, subject: str, parts: list[tuple[str, str]], recipient: str) -> None:
        """Blocking: one message to `recipient` alone (not the channel's `to`): a survey invitation is personal."""
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, self.config.sender, recipient
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid("opsmon", domain=self.config.sender.rpartition("@")[2] or "opsmon")
        set_parts(msg, parts)
        self._deliver(msg, [recipient])

    def send_files(self, subject: str, body: str, files: list[Path]) -> None:
        """Blocking: mail `files` as attachments to the channel's `to` (scheduled reports use this)."""
        if not self.config.to:
            raise DeliveryError("the channel has no `to` to send files to", permanent=True)
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = subject, self.config.sender, ", ".join(self.config.to)
        msg.set_content(body)
        types = {".pdf": ("application", "pdf"), ".html": ("text", "html"),
                 ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                 ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")}
        for path in files:
            main, sub = types.get(path.suffix, ("application", "octet-stream"))
            msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
        self._deliver(msg, list(self.config.to))

    def _deliver(self, msg: EmailMessage, recipients: list[str]) -> None:
        c = self.config
        where = f"{c.host}:{c.port}"
        try:
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            with smtp:
                if c.security == "starttls":
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise DeliveryError(
                            f"{where} does not offer STARTTLS; refusing to send in clear text "
                            "(set security: none only for a relay on the same host)", permanent=True)
                    smtp.starttls(context=self._tls)
                    smtp.ehlo()
                if c.username is not None and self._password is not None:
                    smtp.login(c.username, self._password)
                refused = smtp.send_message(msg, from_addr=c.sender, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where} refused the login of {c.username}: {exc.smtp_code}", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where} refused every recipient: {sorted(exc.recipients)}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise DeliveryError(f"{where} answered {exc.smtp_code}: {text}") from None
        except ssl.SSLError as exc:
            raise DeliveryError(f"TLS with {where} failed: {exc.reason or exc}") from None
        except TimeoutError:
            raise DeliveryError(f"no answer from {where} within {c.timeout:g}s") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot send through {where}: {exc}") from None
        if refused:
            raise DeliveryError(f"{where} refused some recipients: {sorted(refused)}", permanent=True)
