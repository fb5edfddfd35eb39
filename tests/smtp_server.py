"""Real SMTP servers on loopback for the tests and benchmarks of core.mail: one that accepts mail
(after a stall, if asked) and one that accepts connections but never says a word."""

import asyncio
import socket
from contextlib import contextmanager
from email import message_from_bytes

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler keeping every accepted message (``email.message.Message``), ``stall`` seconds after its data."""

    def __init__(self, stall=0.0):
        self.stall = stall
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.stall)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(stall=0.0):
    """An aiosmtpd server on 127.0.0.1; yields ``(port, inbox)``."""
    inbox = Inbox(stall)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@contextmanager
def silent_server():
    """A socket that takes connections (the kernel's backlog does) and never answers; yields its port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def use_smtp(settings, port, *, timeout=10):
    """Point Django's SMTP backend (``settings``: a Django settings object) at 127.0.0.1:``port``."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = timeout
