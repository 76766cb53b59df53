from bgprr.cli import main

main()
