"""Placing an order through the order portal as a logged-in Airflow user, as a user's script would.

The script logs in (``POST /auth/token``), posts the order form
(``/ardis/portal/order``) with its Bearer token and a one-time form token of its
own (sending the same form twice finds the first order), and follows the
portal's answer to the order's page.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.parse
import urllib.request

from distribution.errors import ArdisError
from distribution.orders.placing import Contact, RequestSpec

__all__ = ["order_through_portal"]


def order_through_portal(api_url: str, token: str, contact: Contact, spec: RequestSpec) -> str:
    """Place ``spec`` through the portal with the user's ``token``; the OrderID. ArdisError with the portal's
    complaints when it refuses the form."""
    dest = spec.destination
    fields = [("token", secrets.token_hex(12)), ("method", spec.media_type.value), ("email", contact.email),
              ("first_name", contact.first_name), ("last_name", contact.last_name),
              ("organization", contact.organization), ("shipping_address", contact.shipping_address),
              ("userstring", spec.userstring), ("notify_email", spec.notify_email), ("host", dest.host),
              ("port", str(dest.port or "")), ("directory", dest.directory), ("conn_id", dest.conn_id),
              *[("granules", ur) for ur in spec.granules]]
    if contact.checksum_list:
        fields.append(("checksums", "on"))
    request = urllib.request.Request(f"{api_url}/ardis/portal/order", method="POST",
                                     data=urllib.parse.urlencode(fields).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # follows the 303 to the order's page
            landed = answer.geturl()
    except urllib.error.HTTPError as e:
        errors = re.findall(r'<p class="error[^"]*"[^>]*>([^<]*)</p>', e.read().decode("utf-8", "replace"))
        raise ArdisError(f"the portal refused the order ({e.code}): {'; '.join(errors) or e.reason}") from e
    found = re.search(r"/ardis/portal/orders/([^/?]+)", landed)
    if not found:
        raise ArdisError(f"the portal answered the order with {landed}")
    return found.group(1)
