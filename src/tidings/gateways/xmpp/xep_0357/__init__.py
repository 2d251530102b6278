"""XEP-0357 push notifications: ``<enable/>``/``<disable/>`` as devices of the user."""
