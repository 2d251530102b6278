"""Delivery: pushes (APNs, FCM) and webhooks, from the outbox, with retries.

``DeliveryWorkers`` is the one name ``server.py`` uses; providers live one per
module (``webhooks``, ``apns``, ``fcm``). See ``docs/delivery.md``.
"""

from tidings.delivery.worker import DeliveryWorkers

__all__ = ["DeliveryWorkers"]
