"""Gateways: each translates one wire protocol onto the core's services."""
