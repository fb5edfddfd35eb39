"""The panel's URLs plus the two views bench/api_auth.py compares token authentication with.

- ``/api/bench/one-query/<pk>``: the fair floor, a django-ninja view without authentication that
  reads one user by primary key and answers it as ``/api/user/info`` does (the same schema);
- ``/api/bench/drf/user/info``: Django REST framework's ``TokenAuthentication`` (``Authorization:
  Token <key>``, its ``authtoken`` table) in front of an ``APIView`` answering the same JSON.

Both sit under ``/api/`` so that the same middleware treats them as it treats the panel's API, and
their patterns come just before the panel's ``api/``, so that resolving them walks the same patterns.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from ninja import NinjaAPI
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import UserOut
from accounts.models import User
from panel.urls import handler404, handler500  # noqa: F401 (the root URL conf's error views)
from panel.urls import urlpatterns as panel_urlpatterns

bench_api = NinjaAPI(title="Panel benchmark yardsticks", urls_namespace="bench-api", docs_url=None)


@bench_api.get("/one-query/{pk}", response=UserOut, auth=None)
def one_query(request, pk: int):
    return User.objects.get(pk=pk)


class DrfUserInfo(APIView):
    """What a DRF project writes for ``/api/user/info``."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response(UserOut.from_orm(request.user).model_dump(mode="json"))


def _public(urls):
    patterns, app_name, namespace = urls
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns, app_name, namespace


_yardsticks = [
    path("api/bench/", _public(bench_api.urls)),
    path("api/bench/drf/user/info", login_not_required(DrfUserInfo.as_view())),
]
_api = next(index for index, pattern in enumerate(panel_urlpatterns) if str(pattern.pattern) == "api/")
urlpatterns = [*panel_urlpatterns[:_api], *_yardsticks, *panel_urlpatterns[_api:]]
