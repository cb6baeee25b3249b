"""Decodes one delivered mail file with Python's own email package (an
implementation independent of ours) and prints its parts as JSON."""
import email
import email.policy
import json
import sys

with open(sys.argv[1], 'rb') as f:
    raw = f.read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
print(json.dumps({
    'from': str(msg['From']),
    'from_addr': msg['From'].addresses[0].addr_spec if msg['From'] else None,
    'from_name': msg['From'].addresses[0].display_name if msg['From'] else None,
    'to': str(msg['To']),
    'subject': str(msg['Subject']),
    'date': str(msg['Date']),
    'message_id': str(msg['Message-ID']),
    'mime_version': str(msg['MIME-Version']),
    'content_type': msg.get_content_type(),
    'charset': msg.get_content_charset(),
    'cte': str(msg['Content-Transfer-Encoding']),
    'x_mailfrom': str(msg['X-MailFrom']),
    'x_rcptto': str(msg['X-RcptTo']),
    'body': msg.get_content(),
    'defects': len(msg.defects),
}, ensure_ascii=False))
