"""Subscriptions (ICD 4.3): the e-mail formats and qualifiers as pure functions, and the services on them.

Formats:

* messages.py — request, update, cancellation (Tables 4.3.1-1, 4.3.3-1, 4.3.4-1)
* acknowledgment.py — the DAAC's answer (Table 4.3.2-1)
* notification.py — the event notification (Table 4.3.5-1, Figure 4.3.5-1)
* qualifiers.py — which granules a subscription wants
* fields.py — field rules and sizes shared by the messages
* trust.py — whether a mail may speak for the User ID it names (From, envelope, relays)

Services (tables in distribution/subscriptions/models.py):

* store.py — submit, update, cancel, expire, with history; ``answer_message`` builds the acknowledgment
* dispatch.py — each (subscription, granule) fires once: notification and order; held orders; backfill
  (and its preview: how many granules it would fire)
* inbox.py — e-mails dropped into a Maildir, each applied and answered once
* forms.py — the web door: a form's fields as the ICD's request, update or cancellation, acknowledged
* queries.py — what the pages list: subscriptions (the owner rule), recent firings and their orders
"""
