"""WhatsApp's customer-service window (Cloud API): free-form messages only within 24 hours of
the customer's last message; outside it, only approved templates."""

from datetime import datetime, timedelta

CUSTOMER_WINDOW = timedelta(hours=24)


def customer_window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    return last_inbound_at is not None and now - last_inbound_at < CUSTOMER_WINDOW
