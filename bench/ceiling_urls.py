"""The product's URLs, and after them POST /bench/constant/: a bare Django view answering a
constant JSON, the ceiling of the stack the reasoning call runs on (gunicorn, Django and its
middleware) measured on the same server. Benchmark only: config.urls does not have it."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import handler400, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product

# The size of a single-row answer of the reasoning call.
CONSTANT = {
    "inferenceId": "00000000-0000-0000-0000-000000000000",
    "modelVersion": {"id": 1, "model": "cell-load-forecast", "version": "1.0.0"},
    "outputs": {"variable": [[0.5]]},
    "count": 1,
    "latencyMs": 0.5,
}


@csrf_exempt
def constant(request):
    return JsonResponse(CONSTANT)


urlpatterns = [*product, path("bench/constant/", constant)]
