"""XEP-0198 Stream Management: acks and resumption."""
