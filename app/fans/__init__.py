"""Fans: who follows the account, since when, and from which QR scene."""
