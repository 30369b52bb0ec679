"""aiosmtpd server for c5 tests: STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, Maildir delivery.

Usage: python3 smtp_tls.py PORT MAILDIR CERT KEY MODE USER PASSWORD
MODE is `starttls` (STARTTLS required before MAIL and AUTH) or `implicit` (TLS from the first byte).
Every stored message gets X-C5-Test-TLS (yes/no) and X-C5-Test-Auth (login or `-`) headers so tests
can assert the session really was encrypted and authenticated.
"""

import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        # True for implicit TLS and after STARTTLS alike: the transport itself is encrypted.
        session.c5_tls = server.transport.get_extra_info("ssl_object") is not None
        return await super().handle_DATA(server, session, envelope)

    def prepare_message(self, session, envelope):
        message = super().prepare_message(session, envelope)
        message["X-C5-Test-TLS"] = "yes" if getattr(session, "c5_tls", False) else "no"
        login = session.auth_data.login.decode() if session.auth_data else "-"
        message["X-C5-Test-Auth"] = login
        return message


def main():
    port, maildir, cert, key, mode, user, password = sys.argv[1:8]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    kwargs = dict(
        hostname="127.0.0.1",
        port=int(port),
        authenticator=authenticator,
        auth_required=True,
        # with implicit TLS aiosmtpd does not know the socket is encrypted; it is
        auth_require_tls=(mode != "implicit"),
        server_hostname="localhost",
    )
    if mode == "implicit":
        kwargs["ssl_context"] = context
    else:
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = True
    controller = Controller(Handler(maildir), **kwargs)
    controller.start()
    print("ready", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    controller.stop()


if __name__ == "__main__":
    main()
