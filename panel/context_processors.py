from django.conf import settings

from core import navigation
from panel import __version__


def panel(request):
    user = getattr(request, "user", None)
    modules = navigation.items_for(user) if user is not None else []
    return {
        "panel_name": settings.PANEL_NAME,
        "panel_version": __version__,
        "navigation": [
            {"label": item.label, "url": item.url, "active": request.path.startswith(item.url)} for item in modules
        ],
    }
