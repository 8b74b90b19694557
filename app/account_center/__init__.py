"""Account center: the eight account queries as WeChat replies and H5 detail pages."""
