from pager import cli

raise SystemExit(cli.main())
