from django.conf import settings

from core import navigation


def panel(request):
    user = getattr(request, "user", None)
    modules = navigation.items_for(user) if user is not None else []
    return {
        "panel_name": settings.PANEL_NAME,
        "navigation": [
            {"label": item.label, "url": item.url, "active": request.path.startswith(item.url)} for item in modules
        ],
    }
