from newsdrop.cli import main

main()
