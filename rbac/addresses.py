"""The client address of a request, as the logs and the login limits record it."""


def client_address(request) -> str | None:
    """REMOTE_ADDR: behind a reverse proxy that is the proxy's address unless the server is told the real one."""
    return request.META.get("REMOTE_ADDR") or None
