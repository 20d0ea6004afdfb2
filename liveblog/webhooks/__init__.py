"""Outbound webhooks: the change feed delivered to registered endpoints, signed per the
Standard Webhooks specification (``policy``: the rules; ``sender``: one delivery;
``source``: what is delivered; ``worker``: the background delivery loop)."""
