"""The cash desk's screens, one file each."""
