"""Campaigns: channel QR codes, attribution, tracked links, conversion events and the funnel."""
