"""Atende: WhatsApp numbers answered by AI agents, watched live by people."""

__version__ = "0.1.0"
