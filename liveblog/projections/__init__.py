"""Read models: renderings of the log kept up to date inside the append transaction."""
