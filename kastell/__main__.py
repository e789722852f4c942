from kastell.cli.main import main

main()
