"""Calls as the cash desk sees them: the tracker that turns PBX events into CDRs,
charges and cabin sessions, and what it announces when something changed."""
