"""Content: keyword auto-replies, the welcome reply and the default reply."""
