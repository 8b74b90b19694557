"""`python -m app` is the same as the `wxbroker` console script."""

from app.cli import main

raise SystemExit(main())
