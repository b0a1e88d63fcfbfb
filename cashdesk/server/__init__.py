"""The cash desk's sync server: an aiohttp application (`create_app`) with the HTTP
API under /api/v1, its configuration, authentication and permission checks."""
