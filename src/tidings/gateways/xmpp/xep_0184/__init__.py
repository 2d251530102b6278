"""XEP-0184 Message Delivery Receipts."""
