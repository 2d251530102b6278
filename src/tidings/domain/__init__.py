"""The domain's vocabulary: models, events, errors and ids.

This is the bottom layer. It imports nothing else of tidings, so ``store/``,
``bus/`` and ``files/`` can speak the domain's language while ``core/`` sits
above all of them; no import runs back up.
"""
