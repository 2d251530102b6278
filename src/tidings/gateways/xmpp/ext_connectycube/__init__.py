"""ConnectyCube SDK extras: ``<extraParams>``, mobile state, status streaming."""
