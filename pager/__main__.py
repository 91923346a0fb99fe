from pager import cli

if __name__ == "__main__":  # not when a spawned process (the urgent lane's) imports it
    raise SystemExit(cli.main())
