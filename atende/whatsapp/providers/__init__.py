"""WhatsApp provider adapters, one file each, behind the `Provider` protocol in `base`."""
