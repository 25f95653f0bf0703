from verda_server.cli import main

main()
