"""Test SMTP server for tests/mail: aiosmtpd's Mailbox handler plus what the
command-line `python3 -m aiosmtpd` cannot do: AUTH over plain text
(auth_require_tls=False) and recipients refused on purpose.

  smtp_server.py PORT MAILDIR [--user U --password-file F]

Recipients whose local part starts with "reject" get 550, "grey" get 450;
a message to a "stall" recipient makes the server stall after DATA (it
writes MAILDIR.stalled first, so a test can wait for that moment).
Stops on SIGTERM."""
import argparse
import asyncio
import signal
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@')[0]
        if local.startswith('reject'):
            return '550 5.1.1 <%s>: no such user here' % address
        if local.startswith('grey'):
            return '450 4.2.0 <%s>: greylisted, try again later' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        if any(r.split('@')[0].startswith('stall') for r in envelope.rcpt_tos):
            with open(self.stall_marker, 'w') as f:
                f.write('stalled\n')
            await asyncio.sleep(3600)
        return await super().handle_DATA(server, session, envelope)


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
                and auth_data.password == self.password):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('port', type=int)
    ap.add_argument('maildir')
    ap.add_argument('--user')
    ap.add_argument('--password-file')
    a = ap.parse_args()
    kw = {}
    if a.user:
        with open(a.password_file) as f:
            password = f.read().rstrip('\n')
        kw = dict(authenticator=Authenticator(a.user, password), auth_required=True,
                  auth_require_tls=False)
    handler = Handler(a.maildir)
    handler.stall_marker = a.maildir.rstrip('/') + '.stalled'
    ctl = Controller(handler, hostname='127.0.0.1', port=a.port, **kw)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ctl.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()


main()
