"""The client address of a request, as the logs, the SMS limits and the lockout (django-axes) record it.

One place: axes' own resolution (django-ipware). It reads REMOTE_ADDR only, unless the settings name
the proxy headers to trust (AXES_IPWARE_META_PRECEDENCE_ORDER, AXES_IPWARE_PROXY_COUNT; see the README).
"""

from axes.helpers import get_client_ip_address


def client_address(request) -> str | None:
    """The address axes counts this request under (REMOTE_ADDR unless a proxy is configured), or None."""
    if request is None:
        return None
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    return address or None
