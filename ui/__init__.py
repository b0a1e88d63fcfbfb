"""The PySide6 cash desk. Talks to the sync server only through `server_client`."""
