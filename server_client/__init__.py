"""The desktop's client of the sync server: typed HTTP calls and the event stream.

Plain Python (requests, websocket-client): no Qt here, so it can be tested and reused
without a screen. The UI wraps it in worker threads.
"""
