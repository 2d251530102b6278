"""XEP-0054 vCard-temp over ``core.users``: a user's name and avatar as a vCard."""
