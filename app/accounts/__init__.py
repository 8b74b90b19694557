"""Account binding: a fan binds brokerage accounts through the OAuth H5 pages."""
