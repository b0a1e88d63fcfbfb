"""Kamailio as the cabins' PBX: its config (rendered from
`resources/kamailio/kamailio.cfg.tmpl`), the cabins' SIP credentials in its
`subscriber` table, and the evapi socket the sync server talks to it over."""
