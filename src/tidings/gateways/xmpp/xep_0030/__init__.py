"""XEP-0030 Service Discovery: what the server, its MUC service and an account offer."""
