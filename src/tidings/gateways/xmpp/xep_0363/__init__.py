"""XEP-0363 HTTP File Upload: slots over XMPP, bytes over the HTTP port."""
