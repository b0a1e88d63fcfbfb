"""The telephony side: what PBX bridges report (events), what they ask (authorisation)
and what they are told to do (cut, backstop), independent of Kamailio or Asterisk."""
