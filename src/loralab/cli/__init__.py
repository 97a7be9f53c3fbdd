"""The console scripts, one module each: parse the command line, call the library, turn a user's
mistake into a message and an exit code. Nothing here is imported by the library itself."""
