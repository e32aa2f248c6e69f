"""ScratchNet's terminal app and command-line entry point."""
